//! Safe extraction of a chart archive into the cache.
//!
//! A chart archive is a gzipped tar whose entries all sit under one directory (Helm ignores
//! that directory's name). It comes from the network, so it is hostile until proven
//! otherwise: only plain files and directories are written, at relative paths without `..`,
//! with bounded count and size, and with fixed permissions. Extraction goes to a temporary
//! directory next to the destination, renamed into place once complete, so a reader never
//! sees half a chart.

use std::fs;
use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};

use flate2::read::GzDecoder;

use crate::{ChartError, ChartRef, PulledChart};

/// All bytes the decompressed tar stream may hold (headers included): a gzip bomb stops here.
const MAX_UNPACKED_BYTES: u64 = 100 << 20;
/// Files and directories in one chart.
const MAX_ENTRIES: usize = 10_000;
/// Path components below the chart's directory.
const MAX_DEPTH: usize = 32;
/// The file in the extracted directory that records the archive's sha256.
const DIGEST_FILE: &str = "digest";

/// A version is one path component of the cache: letters, digits, `.`, `+`, `_`, `-`.
pub(crate) fn check_version(version: &str, at: &ChartRef) -> Result<(), ChartError> {
    let ok = !version.is_empty()
        && version.len() <= 128
        && !version.starts_with('.')
        && version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".+_-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(ChartError::InvalidRequest {
            at: at.clone(),
            reason: "a chart version is letters, digits, '.', '+', '_' and '-'".to_string(),
        })
    }
}

/// The chart extracted earlier into `dest` when it was extracted from an archive of `digest`.
pub(crate) fn existing(
    dest: &Path,
    chart: &str,
    version: &str,
    digest: &str,
) -> Option<PulledChart> {
    let recorded = fs::read_to_string(dest.join(DIGEST_FILE)).ok()?;
    let dir = dest.join(chart);
    (recorded.trim() == digest && dir.join("Chart.yaml").is_file()).then(|| PulledChart {
        dir,
        version: version.to_string(),
        digest: digest.to_string(),
    })
}

/// Extracts the archive `bytes` (of sha256 `digest`) so that `dest/<chart>/` is the chart,
/// replacing whatever `dest` held. Returns `dest/<chart>`.
pub(crate) fn extract(
    bytes: &[u8],
    dest: &Path,
    chart: &str,
    digest: &str,
    at: &ChartRef,
) -> Result<PathBuf, ChartError> {
    let cache_err = |path: &Path, e: std::io::Error| ChartError::Cache {
        at: at.clone(),
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    let parent = dest.parent().expect("the destination is inside the cache");
    fs::create_dir_all(parent).map_err(|e| cache_err(parent, e))?;
    let tmp = tempfile::Builder::new()
        .prefix(".extract-")
        .tempdir_in(parent)
        .map_err(|e| cache_err(parent, e))?;
    let chart_dir = tmp.path().join(chart);
    fs::create_dir(&chart_dir).map_err(|e| cache_err(&chart_dir, e))?;
    unpack(bytes, &chart_dir, at)?;
    if !chart_dir.join("Chart.yaml").is_file() {
        return Err(ChartError::UnsafeArchive {
            at: at.clone(),
            reason: "it has no Chart.yaml in its top directory".to_string(),
        });
    }
    let digest_path = tmp.path().join(DIGEST_FILE);
    fs::write(&digest_path, digest).map_err(|e| cache_err(&digest_path, e))?;
    // Move an older extraction aside first: rename cannot replace a non-empty directory.
    if dest.exists() {
        let old = tempfile::Builder::new()
            .prefix(".old-")
            .tempdir_in(parent)
            .map_err(|e| cache_err(parent, e))?;
        let aside = old.path().join("chart");
        fs::rename(dest, &aside).map_err(|e| cache_err(dest, e))?;
        drop(old);
    }
    let tmp = tmp.keep();
    fs::rename(&tmp, dest).map_err(|e| {
        let _ = fs::remove_dir_all(&tmp);
        cache_err(dest, e)
    })?;
    Ok(dest.join(chart))
}

/// Writes the entries of the tar.gz `bytes` below `into`, their first path component removed.
fn unpack(bytes: &[u8], into: &Path, at: &ChartRef) -> Result<(), ChartError> {
    let refuse = |reason: String| ChartError::UnsafeArchive {
        at: at.clone(),
        reason,
    };
    let io = |e: std::io::Error| refuse(format!("it does not read as a gzipped tar: {e}"));
    let mut stream = GzDecoder::new(bytes).take(MAX_UNPACKED_BYTES + 1);
    let mut archive = tar::Archive::new(&mut stream);
    let mut count = 0;
    for entry in archive.entries().map_err(io)? {
        let mut entry = entry.map_err(io)?;
        let kind = entry.header().entry_type();
        let path = entry.path().map_err(io)?.into_owned();
        let shown = path.display().to_string();
        if kind.is_pax_global_extensions() || kind.is_pax_local_extensions() {
            continue;
        }
        count += 1;
        if count > MAX_ENTRIES {
            return Err(refuse(format!("it has more than {MAX_ENTRIES} entries")));
        }
        let mut parts = Vec::new();
        for c in path.components() {
            match c {
                Component::Normal(p) => parts.push(p.to_owned()),
                Component::CurDir => {}
                _ => {
                    return Err(refuse(format!(
                        "entry {shown:?} leaves the chart directory"
                    )));
                }
            }
        }
        if parts.len() > MAX_DEPTH + 1 {
            return Err(refuse(format!("entry {shown:?} is nested too deep")));
        }
        // Helm drops the first component (the chart's directory, whatever its name).
        let Some((_, rest)) = parts.split_first() else {
            continue;
        };
        let target: PathBuf = rest.iter().collect();
        let target = into.join(target);
        if kind.is_dir() {
            fs::create_dir_all(&target).map_err(|e| write_err(&shown, e, at))?;
        } else if kind.is_file() || kind.is_contiguous() {
            if rest.is_empty() {
                return Err(refuse(format!(
                    "entry {shown:?} is a file at the top level"
                )));
            }
            if let Some(dir) = target.parent() {
                fs::create_dir_all(dir).map_err(|e| write_err(&shown, e, at))?;
            }
            // No links can exist below `into` (none are written), so this stays inside it.
            let mut file = fs::File::create(&target).map_err(|e| write_err(&shown, e, at))?;
            let mut buf = [0u8; 64 << 10];
            loop {
                let n = entry.read(&mut buf).map_err(io)?;
                if n == 0 {
                    break;
                }
                file.write_all(&buf[..n])
                    .map_err(|e| write_err(&shown, e, at))?;
            }
        } else {
            return Err(refuse(format!(
                "entry {shown:?} is a {kind:?}: only files and directories are allowed"
            )));
        }
    }
    if stream.limit() == 0 {
        return Err(refuse(format!(
            "it unpacks to more than {MAX_UNPACKED_BYTES} bytes"
        )));
    }
    Ok(())
}

fn write_err(entry: &str, e: std::io::Error, at: &ChartRef) -> ChartError {
    ChartError::Cache {
        at: at.clone(),
        path: entry.to_string(),
        reason: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(path, kind, content)` of one archive entry.
    type Spec<'a> = (&'a str, char, &'a str);

    /// A tar.gz of `(path, kind, content)`; kind 'f' file, 'd' directory, 'l' symlink to content.
    fn tgz(entries: &[Spec]) -> Vec<u8> {
        let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let mut tar = tar::Builder::new(gz);
        for (path, kind, content) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_mode(0o644);
            match kind {
                'd' => {
                    h.set_entry_type(tar::EntryType::Directory);
                    h.set_size(0);
                }
                'l' => {
                    h.set_entry_type(tar::EntryType::Symlink);
                    h.set_size(0);
                    h.set_link_name(content).unwrap();
                }
                _ => {
                    h.set_entry_type(tar::EntryType::Regular);
                    h.set_size(content.len() as u64);
                }
            }
            // Raw names, so that `..` and absolute paths reach the archive as an attacker writes them.
            let name = &mut h.as_old_mut().name;
            name[..path.len()].copy_from_slice(path.as_bytes());
            h.set_cksum();
            let data: &[u8] = if *kind == 'f' {
                content.as_bytes()
            } else {
                &[]
            };
            tar.append(&h, data).unwrap();
        }
        tar.into_inner().unwrap().finish().unwrap()
    }

    fn extract_into(bytes: &[u8]) -> (tempfile::TempDir, Result<PathBuf, ChartError>) {
        let cache = tempfile::tempdir().unwrap();
        let dest = cache.path().join("repo").join("web-1.0.0");
        let r = extract(bytes, &dest, "web", "d1", &ChartRef::default());
        (cache, r)
    }

    #[test]
    fn extracts_a_chart_under_its_name() {
        let bytes = tgz(&[
            ("other/", 'd', ""),
            ("other/Chart.yaml", 'f', "name: web\n"),
            ("other/templates/cm.yaml", 'f', "kind: ConfigMap\n"),
        ]);
        let (cache, r) = extract_into(&bytes);
        let dir = r.unwrap();
        assert_eq!(dir, cache.path().join("repo/web-1.0.0/web"));
        assert_eq!(
            fs::read_to_string(dir.join("templates/cm.yaml")).unwrap(),
            "kind: ConfigMap\n"
        );
        let again = existing(dir.parent().unwrap(), "web", "1.0.0", "d1").unwrap();
        assert_eq!(again.dir, dir);
        assert!(existing(dir.parent().unwrap(), "web", "1.0.0", "d2").is_none());
        // A second extraction replaces the first.
        let bytes = tgz(&[("web/Chart.yaml", 'f', "name: web\nversion: 2\n")]);
        let dest = cache.path().join("repo").join("web-1.0.0");
        let dir = extract(&bytes, &dest, "web", "d2", &ChartRef::default()).unwrap();
        assert!(!dir.join("templates").exists());
        let left: Vec<_> = fs::read_dir(cache.path().join("repo")).unwrap().collect();
        assert_eq!(left.len(), 1, "no temporary directories are left");
    }

    #[test]
    fn refuses_hostile_archives() {
        let cases: &[(&[Spec], &str)] = &[
            (
                &[("web/Chart.yaml", 'f', "x"), ("web/../../escape", 'f', "x")],
                "leaves",
            ),
            (&[("/etc/web/Chart.yaml", 'f', "x")], "leaves"),
            (
                &[
                    ("web/Chart.yaml", 'f', "x"),
                    ("web/link", 'l', "/etc/passwd"),
                ],
                "Symlink",
            ),
            (&[("web/values.yaml", 'f', "x")], "no Chart.yaml"),
        ];
        for (entries, want) in cases {
            let (cache, r) = extract_into(&tgz(entries));
            let err = r.unwrap_err().to_string();
            assert!(err.contains(want), "{entries:?}: {err}");
            assert!(!cache.path().join("repo/web-1.0.0").exists());
            assert!(!cache.path().join("escape").exists());
        }
        let (_c, r) = extract_into(b"not a gzip");
        assert!(r.unwrap_err().to_string().contains("gzipped tar"));
    }

    #[test]
    fn refuses_a_gzip_bomb() {
        let big = "0".repeat((MAX_UNPACKED_BYTES + 1024) as usize);
        let (_c, r) = extract_into(&tgz(&[
            ("web/Chart.yaml", 'f', "x"),
            ("web/big", 'f', &big),
        ]));
        let err = r.unwrap_err().to_string();
        assert!(
            err.contains("more than") || err.contains("gzipped tar"),
            "{err}"
        );
    }

    #[test]
    fn versions_are_one_path_component() {
        let at = ChartRef::default();
        assert!(check_version("1.2.3-rc.1+b5", &at).is_ok());
        for bad in ["", "..", "../x", "1/2", ".hidden", "a b"] {
            assert!(check_version(bad, &at).is_err(), "{bad:?}");
        }
    }
}
