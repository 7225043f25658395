//! The pages, embedded in the binary (no Node.js, no files to install): `/` is index.html,
//! `/ui/app.js`, `/ui/apps.js` and `/ui/app-page.js` its scripts (loaded in that order) and
//! `/ui/style.css` its style. Served with an ETag and `no-cache`, so
//! browsers revalidate (a 304 costs nothing) and never run a previous binary's script with a
//! new API. The security headers of every response are added by the server's middleware.

use std::sync::LazyLock;

use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// One embedded file and its validator.
struct Asset {
    body: &'static [u8],
    content_type: &'static str,
    etag: String,
}

impl Asset {
    fn new(body: &'static [u8], content_type: &'static str) -> Self {
        let digest = Sha256::digest(body);
        Asset {
            body,
            content_type,
            etag: format!("\"{}\"", hex::encode(&digest[..12])),
        }
    }

    fn serve(&self, headers: &HeaderMap) -> Response {
        let etag = HeaderValue::from_str(&self.etag).expect("a hex ETag is a valid header");
        let cache = HeaderValue::from_static("no-cache");
        let matches = headers
            .get(IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|t| t.trim() == self.etag));
        if matches {
            return (
                StatusCode::NOT_MODIFIED,
                [(ETAG, etag), (CACHE_CONTROL, cache)],
            )
                .into_response();
        }
        (
            [
                (CONTENT_TYPE, HeaderValue::from_static(self.content_type)),
                (ETAG, etag),
                (CACHE_CONTROL, cache),
            ],
            self.body,
        )
            .into_response()
    }
}

static INDEX: LazyLock<Asset> = LazyLock::new(|| {
    Asset::new(
        include_bytes!("../../ui/index.html"),
        "text/html; charset=utf-8",
    )
});
static APP_JS: LazyLock<Asset> = LazyLock::new(|| {
    Asset::new(
        include_bytes!("../../ui/app.js"),
        "text/javascript; charset=utf-8",
    )
});
static APPS_JS: LazyLock<Asset> = LazyLock::new(|| {
    Asset::new(
        include_bytes!("../../ui/apps.js"),
        "text/javascript; charset=utf-8",
    )
});
static APP_PAGE_JS: LazyLock<Asset> = LazyLock::new(|| {
    Asset::new(
        include_bytes!("../../ui/app-page.js"),
        "text/javascript; charset=utf-8",
    )
});
static STYLE_CSS: LazyLock<Asset> = LazyLock::new(|| {
    Asset::new(
        include_bytes!("../../ui/style.css"),
        "text/css; charset=utf-8",
    )
});

/// `GET /`.
pub(crate) async fn index(headers: HeaderMap) -> Response {
    INDEX.serve(&headers)
}

/// `GET /ui/app.js`.
pub(crate) async fn app_js(headers: HeaderMap) -> Response {
    APP_JS.serve(&headers)
}

/// `GET /ui/apps.js`.
pub(crate) async fn apps_js(headers: HeaderMap) -> Response {
    APPS_JS.serve(&headers)
}

/// `GET /ui/app-page.js`.
pub(crate) async fn app_page_js(headers: HeaderMap) -> Response {
    APP_PAGE_JS.serve(&headers)
}

/// `GET /ui/style.css`.
pub(crate) async fn style_css(headers: HeaderMap) -> Response {
    STYLE_CSS.serve(&headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn assets_revalidate_by_etag() {
        let r = index(HeaderMap::new()).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()[CONTENT_TYPE], "text/html; charset=utf-8");
        let etag = r.headers()[ETAG].clone();
        let mut h = HeaderMap::new();
        h.insert(IF_NONE_MATCH, etag);
        assert_eq!(index(h).await.status(), StatusCode::NOT_MODIFIED);
        let mut etags = Vec::new();
        for js in [
            app_js(HeaderMap::new()).await,
            apps_js(HeaderMap::new()).await,
            app_page_js(HeaderMap::new()).await,
        ] {
            assert_eq!(js.status(), StatusCode::OK);
            assert_eq!(js.headers()[CONTENT_TYPE], "text/javascript; charset=utf-8");
            assert_eq!(js.headers()[CACHE_CONTROL], "no-cache");
            etags.push(js.headers()[ETAG].clone());
        }
        // Each script has its own validator (a stale one is refetched alone).
        assert!(etags[0] != etags[1] && etags[1] != etags[2] && etags[0] != etags[2]);
        let mut h = HeaderMap::new();
        h.insert(IF_NONE_MATCH, etags[2].clone());
        assert_eq!(app_page_js(h).await.status(), StatusCode::NOT_MODIFIED);
        let css = style_css(HeaderMap::new()).await;
        assert_eq!(css.headers()[CONTENT_TYPE], "text/css; charset=utf-8");
    }

    /// index.html loads every embedded script, in the order their top-level names depend on.
    #[test]
    fn index_loads_the_scripts_in_order() {
        let html = std::str::from_utf8(INDEX.body).unwrap();
        let at = |src: &str| {
            html.find(&format!("<script src=\"{src}\" defer></script>"))
                .unwrap_or_else(|| panic!("index.html does not load {src}"))
        };
        assert!(at("/ui/app.js") < at("/ui/apps.js"));
        assert!(at("/ui/apps.js") < at("/ui/app-page.js"));
    }
}
