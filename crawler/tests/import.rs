//! Importing what analysts receive: a JSONL export with a bad line, and a folder with
//! a saved GBK page beside another export. Each document once, however often the
//! source is visited; a bad line is named by file and line and the rest go on.

use std::sync::Arc;
use yuqing_bus::{Consumer, EmbeddedBus, Producer};
use yuqing_crawler::{Crawler, CrawlerSettings, SeenStore, SourceConfig};
use yuqing_model::RawDocument;

fn source(toml_text: &str) -> yuqing_crawler::Source {
    let config: SourceConfig = toml::from_str(toml_text).unwrap();
    config.build("http://127.0.0.1:9").unwrap()
}

#[tokio::test]
async fn exports_are_imported_once_and_bad_lines_named() {
    let dir = tempfile::tempdir().unwrap();
    let exports = dir.path().join("exports");
    std::fs::create_dir(&exports).unwrap();
    let lines = [
        r#"{"url":"https://weibo.example/1?utm_source=x","title":"网友爆料：某小学食堂饭菜变质","text":"多名家长反映孩子在学校食堂吃到变质饭菜。","published_at":"2026-11-28 09:15","author":"焦作网友","source":"微博","source_type":"社交平台","platform":"weibo","ip_region":"河南","reposts":120,"comments":45}"#,
        r#"{"title":"没有网址的帖子","content":"温县一初中门口发生学生打架事件。"}"#,
        r#"{"title": 3}"#,
        r#"{"url":"https://weibo.example/2","title":"时间不对","content":"正文","published_at":"昨天晚上"}"#,
    ];
    std::fs::write(exports.join("a-weibo.jsonl"), lines.join("\n")).unwrap();
    let page = "<html><head><meta charset=\"gbk\"><title>校车超载被查</title></head><body><h1>校车超载被查</h1><div>发布时间：2026-11-27 10:00</div><p>交警在检查中发现一辆接送学生的校车严重超载，驾驶人已被依法处理，学生均已安全转运。</p></body></html>";
    let (gbk, _, _) = encoding_rs::GBK.encode(page);
    std::fs::write(exports.join("b-page.html"), &gbk).unwrap();
    std::fs::write(exports.join("notes.txt"), "not imported").unwrap();

    let bus = EmbeddedBus::new(100);
    let mut raw: Consumer<RawDocument> = Consumer::new(&bus, "raw", "test", "dead").unwrap();
    let seen = Arc::new(SeenStore::open(&dir.path().join("state.sqlite")).unwrap());
    let crawler = Crawler::new(
        &CrawlerSettings::default(),
        seen,
        Producer::new(&bus, "raw").unwrap(),
        true,
    )
    .unwrap();
    let import = source(&format!(
        "name = \"导入\"\nkind = \"import\"\nsource_type = \"自媒体\"\n[import]\npath = \"{}\"",
        exports.display()
    ));
    let report = crawler.visit(&import).await.unwrap();
    assert_eq!((report.links, report.collected, report.failed), (5, 3, 2));

    let mut documents = Vec::new();
    for _ in 0..3 {
        let received = raw.recv().await.unwrap().unwrap();
        raw.commit(&received.delivery).await.unwrap();
        documents.push(received.message);
    }
    let weibo = &documents[0];
    assert_eq!(weibo.url, "https://weibo.example/1");
    assert_eq!(weibo.source, "微博");
    assert_eq!(weibo.author.as_deref(), Some("焦作网友"));
    assert_eq!(
        weibo.published_at.unwrap().to_rfc3339(),
        "2026-11-28T09:15:00+08:00"
    );
    assert_eq!(weibo.content, "多名家长反映孩子在学校食堂吃到变质饭菜。");
    assert_eq!(weibo.source_type, yuqing_model::SourceType::Social);
    assert_eq!(weibo.platform.as_deref(), Some("weibo"));
    assert_eq!(weibo.ip_region.as_deref(), Some("河南"));
    let engagement = weibo.engagement.unwrap();
    assert_eq!(
        (engagement.reposts, engagement.comments, engagement.likes),
        (120, 45, 0)
    );
    let no_url = &documents[1];
    assert!(
        no_url.url.starts_with("file://") && no_url.url.ends_with("a-weibo.jsonl#2"),
        "{}",
        no_url.url
    );
    assert_eq!(no_url.source, "导入");
    assert_eq!(
        no_url.source_type,
        yuqing_model::SourceType::SelfMedia,
        "the source's type"
    );
    let page = &documents[2];
    assert_eq!(page.title, "校车超载被查");
    assert!(page.content.contains("严重超载"), "{}", page.content);

    // The next visit brings nothing new.
    let again = crawler.visit(&import).await.unwrap();
    assert_eq!((again.already_seen, again.collected), (3, 0));

    // A missing path is an error on the source, not an empty import.
    let missing =
        source("name = \"缺\"\nkind = \"import\"\n[import]\npath = \"/nonexistent/exports\"");
    let error = crawler.visit(&missing).await.unwrap_err().to_string();
    assert!(error.contains("/nonexistent/exports"), "{error}");
}

#[test]
fn import_sources_are_checked() {
    // What is wrong, whether found reading the table or building the source.
    let config = |text: &str| match toml::from_str::<SourceConfig>(text) {
        Ok(config) => config.build("x").unwrap_err(),
        Err(error) => error.to_string(),
    };
    assert!(config("name = \"a\"\nkind = \"import\"").contains("path"));
    assert!(config(
        "name = \"a\"\nkind = \"import\"\nurl = \"http://a.cn\"\n[import]\npath = \"x\""
    )
    .contains("not url"));
    assert!(
        config("name = \"a\"\nkind = \"feed\"\nurl = \"http://a.cn\"\npath = \"x\"")
            .contains("only import")
    );
    assert!(
        config("name = \"a\"\nkind = \"feed\"\nurl = \"http://a.cn\"\n[import]\npath = \"x\"")
            .contains("[source.import] applies to import sources")
    );
    // The old flat spelling still loads.
    let flat: SourceConfig =
        toml::from_str("name = \"a\"\nkind = \"import\"\npath = \"x\"").unwrap();
    assert!(flat.build("x").is_ok());
}
