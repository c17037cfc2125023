//! A site known only by its sitemap index: the newest sitemaps are read, their pages
//! collected newest first with the times the news sitemap gives, a page pointing into a
//! private network refused, and a broken sitemap logged while the others count.

use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
mod common;
use common::{harness, paced, source};

async fn serve(base: String, Path(name): Path<String>) -> Response {
    let xml = |body: String| ([("content-type", "application/xml")], body).into_response();
    match name.as_str() {
        "sitemap_index.xml" => xml(format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>{base}/sitemap-old.xml</loc><lastmod>2026-10-01</lastmod></sitemap>
<sitemap><loc>{base}/sitemap-broken.xml</loc><lastmod>2026-11-01</lastmod></sitemap>
<sitemap><loc>{base}/sitemap-new.xml</loc><lastmod>2026-11-28</lastmod></sitemap>
</sitemapindex>"#
        )),
        "sitemap-new.xml" => xml(format!(
            r#"<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
<url><loc>{base}/news-1.html</loc><news:news><news:publication_date>2026-11-28T09:00:00+08:00</news:publication_date><news:title>温县一小学开展防溺水教育</news:title></news:news></url>
<url><loc>{base}/news-2.html</loc><lastmod>2026-11-27</lastmod></url>
<url><loc>http://10.0.0.1/intranet.html</loc></url>
</urlset>"#
        )),
        "sitemap-old.xml" => xml(format!(
            r#"<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>{base}/news-3.html</loc><lastmod>2026-09-30</lastmod></url></urlset>"#
        )),
        "sitemap-broken.xml" => xml("<html><body>维护中</body></html>".into()),
        "news-1.html" | "news-2.html" | "news-3.html" => {
            let n = &name[5..6];
            format!(
                "<html><head><meta charset=\"utf-8\"><title>第{n}篇</title></head><body><h1>第{n}篇</h1><div class=\"text\"><p>第{n}篇的正文，学校开展安全教育，内容足够长以便被识别为正文。</p></div></body></html>"
            )
            .into_response()
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

#[tokio::test]
async fn a_sitemap_index_leads_to_the_pages_of_its_sitemaps() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = Router::new().route(
        "/{name}",
        get({
            let base = base.clone();
            move |path| serve(base.clone(), path)
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let mut test = harness(&paced(0));
    let crawler = &test.crawler;
    let source = source(&format!(
        "name = \"站点地图\"\nkind = \"sitemap\"\nurl = \"{base}/sitemap_index.xml\"\nallowed_networks = [\"127.0.0.0/8\"]\n"
    ));

    let report = crawler.visit(&source).await.unwrap();
    assert_eq!(
        (report.links, report.collected, report.failed),
        (3, 3, 0),
        "{report:?}"
    );
    let mut titles = Vec::new();
    for _ in 0..3 {
        let received = test.raw.recv().await.unwrap().unwrap();
        test.raw.commit(&received.delivery).await.unwrap();
        titles.push((
            received.message.title.clone(),
            received.message.published_at,
        ));
    }
    // Newest first; the pages print no time, so the news sitemap's is theirs.
    assert_eq!(titles[0].0, "第1篇");
    assert_eq!(
        titles[0].1.unwrap().to_rfc3339(),
        "2026-11-28T09:00:00+08:00"
    );
    assert_eq!(titles[2].0, "第3篇");

    let again = crawler.visit(&source).await.unwrap();
    assert_eq!((again.already_seen, again.collected), (3, 0));
}
