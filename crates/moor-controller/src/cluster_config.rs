//! What a kubeconfig in a cluster Secret may ask of the controller. A kubeconfig can name
//! commands to run (`exec` credential plugins, an `auth-provider`'s `cmd-path`) and files to
//! read (`tokenFile`, `client-certificate`, `client-key`, `certificate-authority`). Whoever can
//! write that Secret would run commands inside the controller (Flux's CVE-2022-24817) or make it
//! send its own service account token to any server. So commands run only when the operator
//! allow-listed them (`moor controller --allow-exec-command`), and files are never read: cluster
//! Secrets carry credentials inline (`token`, `client-certificate-data`, ...).

use kube::config::Kubeconfig;

/// Why a kubeconfig from a cluster Secret is not used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UnsafeKubeconfig {
    /// An exec credential plugin or auth-provider command not in the allow-list.
    #[error(
        "user {user:?} runs the command {command:?} ({how}), which the controller does not allow: \
         start it with --allow-exec-command {command} to allow it"
    )]
    Command {
        /// The kubeconfig user (auth info) naming it.
        user: String,
        /// The command as written.
        command: String,
        /// `an exec credential plugin` or `an auth-provider cmd-path`.
        how: &'static str,
    },
    /// A field that makes the controller read a file of its own.
    #[error(
        "{owner} reads the controller's file {path:?} through {field}; cluster Secrets must carry \
         credentials inline (use {inline})"
    )]
    File {
        /// `user "x"` or `cluster "y"`.
        owner: String,
        /// The kubeconfig field.
        field: &'static str,
        /// The field that carries the same inline.
        inline: &'static str,
        /// The path as written.
        path: String,
    },
}

/// Checks every user and cluster of `kc` (not only the current context's: a Secret that names a
/// command anywhere is refused as a whole). `allowed`: commands the operator allow-listed, as
/// written in the kubeconfig.
pub fn vet(kc: &Kubeconfig, allowed: &[String]) -> Result<(), UnsafeKubeconfig> {
    for named in &kc.auth_infos {
        let Some(auth) = &named.auth_info else {
            continue;
        };
        let user = || named.name.clone();
        let commands = [
            (
                auth.exec.as_ref().and_then(|e| e.command.clone()),
                "an exec credential plugin",
            ),
            (
                auth.auth_provider
                    .as_ref()
                    .and_then(|p| p.config.get("cmd-path").cloned()),
                "an auth-provider cmd-path",
            ),
        ];
        for (command, how) in commands {
            if let Some(command) = command
                && !allowed.contains(&command)
            {
                return Err(UnsafeKubeconfig::Command {
                    user: user(),
                    command,
                    how,
                });
            }
        }
        if auth.exec.as_ref().is_some_and(|e| e.command.is_none()) {
            return Err(UnsafeKubeconfig::Command {
                user: user(),
                command: String::new(),
                how: "an exec credential plugin",
            });
        }
        let files = [
            ("tokenFile", "token", &auth.token_file),
            (
                "client-certificate",
                "client-certificate-data",
                &auth.client_certificate,
            ),
            ("client-key", "client-key-data", &auth.client_key),
        ];
        for (field, inline, path) in files {
            if let Some(path) = path {
                return Err(UnsafeKubeconfig::File {
                    owner: format!("user {:?}", named.name),
                    field,
                    inline,
                    path: path.clone(),
                });
            }
        }
    }
    for named in &kc.clusters {
        if let Some(path) = named
            .cluster
            .as_ref()
            .and_then(|c| c.certificate_authority.clone())
        {
            return Err(UnsafeKubeconfig::File {
                owner: format!("cluster {:?}", named.name),
                field: "certificate-authority",
                inline: "certificate-authority-data",
                path,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kc(user: &str) -> Kubeconfig {
        Kubeconfig::from_yaml(&format!(
            r#"apiVersion: v1
kind: Config
clusters: [{{name: c, cluster: {{server: "https://127.0.0.1:6443"}}}}]
users: [{{name: u, user: {user}}}]
contexts: [{{name: x, context: {{cluster: c, user: u}}}}]
current-context: x
"#
        ))
        .unwrap()
    }

    #[test]
    fn commands_run_only_when_allow_listed() {
        let exec = kc(
            r#"{exec: {apiVersion: client.authentication.k8s.io/v1, command: /bin/sh, args: ["-c", "id"]}}"#,
        );
        let err = vet(&exec, &[]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "user \"u\" runs the command \"/bin/sh\" (an exec credential plugin), which the \
             controller does not allow: start it with --allow-exec-command /bin/sh to allow it"
        );
        assert_eq!(vet(&exec, &["/bin/sh".into()]), Ok(()));
        assert!(
            vet(&exec, &["sh".into()]).is_err(),
            "the command as written, no lookup"
        );

        let provider = kc(r#"{auth-provider: {name: gcp, config: {cmd-path: /usr/bin/gcloud}}}"#);
        assert!(matches!(
            vet(&provider, &[]),
            Err(UnsafeKubeconfig::Command {
                how: "an auth-provider cmd-path",
                ..
            })
        ));
        assert_eq!(
            vet(&kc(r#"{auth-provider: {name: oidc, config: {}}}"#), &[]),
            Ok(())
        );
    }

    #[test]
    fn files_of_the_controller_are_never_read() {
        let token_file = kc(r#"{tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token}"#);
        assert_eq!(
            vet(&token_file, &[]).unwrap_err().to_string(),
            "user \"u\" reads the controller's file \
             \"/var/run/secrets/kubernetes.io/serviceaccount/token\" through tokenFile; cluster \
             Secrets must carry credentials inline (use token)"
        );
        assert!(vet(&kc(r#"{client-key: /etc/key}"#), &[]).is_err());
        assert_eq!(vet(&kc(r#"{token: abc}"#), &[]), Ok(()));
    }
}
