//! The desk's web page in real headless Chromium (tests/web/desk.mjs, driven by
//! playwright-core): `yuqing run` on the sample site, a 值班员 made with `yuqing user
//! add`, and the page used as on-call staff use it. Screenshots of each page at desktop
//! and phone width are left in the test output folder for a person to look at.

mod util;

use serde_json::Value;
use std::process::{Command, Stdio};
use std::time::Duration;
use util::*;

const DUTY: &str = "值班员甲";
const DUTY_PASSWORD: &str = "duty password 12345";
const ANALYST: &str = "分析员乙";
const ANALYST_PASSWORD: &str = "analyst password 67890";

/// playwright-core as scripts/test installs it.
fn playwright() -> String {
    std::env::var("YUQING_TEST_PLAYWRIGHT")
        .unwrap_or_else(|_| "/var/cache/yuqing/web-test/node_modules/playwright-core".to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_call_staff_use_the_desk_page_in_a_real_browser() {
    let module = playwright();
    if !(std::path::Path::new(&module).exists()
        && std::path::Path::new("/usr/bin/chromium").exists())
    {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI: the browser test needs Chromium (/usr/bin/chromium) and playwright-core ({module}); scripts/test installs both"
        );
        eprintln!(
            "SKIPPED: no Chromium or playwright-core (run ./scripts/test, which installs them)"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let hook = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook_url = format!("http://{}/hook", hook.local_addr().unwrap());
    let _receiver = Receiver::start_on(hook).await;
    // A rules file the analyst edits in the page.
    let rules_file = dir.path().join("rules.toml");
    std::fs::write(
        &rules_file,
        "[[alert]]\nname = \"校园欺凌预警\"\nquery = \"topic:校园欺凌\"\n",
    )
    .unwrap();
    let config = write_config_with(
        dir.path(),
        &hook_url,
        3600,
        &free_port().to_string(),
        &format!(
            "\n[alerts]\nrules_file = \"{}\"\nallowed_networks = [\"127.0.0.0/8\"]\n",
            rules_file.display()
        ),
    );
    let data = dir.path().join("data");
    let _run = start(&config, &data);
    let desk = desk_url(&data).await;
    // A 值班员 and an 分析员 of their own, made as an administrator would.
    for (name, role, password) in [
        (DUTY, "duty", DUTY_PASSWORD),
        (ANALYST, "analyst", ANALYST_PASSWORD),
    ] {
        let mut add = Command::new(BIN)
            .arg("--data-dir")
            .arg(&data)
            .args(["user", "add", name, "--role", role])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        use std::io::Write;
        add.stdin
            .take()
            .unwrap()
            .write_all(format!("{password}\n").as_bytes())
            .unwrap();
        assert!(add.wait().unwrap().success(), "yuqing user add {name}");
    }
    wait_for("the drowning alert", Duration::from_secs(60), async || {
        let cases: Value = get_json(format!("{desk}/api/alerts")).await;
        cases
            .as_array()?
            .iter()
            .any(|c| c["title"].as_str().unwrap_or_default().contains("溺水"))
            .then_some(())
    })
    .await;

    let shots = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("desk-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let mut browser = Command::new("node");
    browser
        .arg(repo().join("tests/web/desk.mjs"))
        .env("DESK", without_credentials(&desk))
        .env("DUTY_NAME", DUTY)
        .env("DUTY_PASSWORD", DUTY_PASSWORD)
        .env("ANALYST_NAME", ANALYST)
        .env("ANALYST_PASSWORD", ANALYST_PASSWORD)
        .env("SHOTS", &shots)
        .env("PLAYWRIGHT", &module);
    let output = tokio::task::spawn_blocking(move || browser.output())
        .await
        .unwrap()
        .expect("node runs the browser script");
    println!("screenshots of the desk page: {}", shots.display());
    assert!(
        output.status.success(),
        "the page in Chromium:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    // The exported search, opened by an independent reader (openpyxl).
    let python = std::env::var("YUQING_TEST_PYTHON")
        .unwrap_or_else(|_| "/var/cache/yuqing/test-python/bin/python".to_string());
    let read = Command::new(&python)
        .args([
            "-c",
            "import json, sys, openpyxl\nsheet = openpyxl.load_workbook(sys.argv[1]).active\nprint(json.dumps({'title': sheet.title, 'rows': [[c.value for c in row] for row in sheet.iter_rows()], 'links': [c.hyperlink.target for c in sheet['K'] if c.hyperlink]}, ensure_ascii=False))",
        ])
        .arg(shots.join("search.xlsx"))
        .output()
        .expect("python with openpyxl (scripts/test installs it)");
    assert!(
        read.status.success(),
        "{}",
        String::from_utf8_lossy(&read.stderr)
    );
    let sheet: Value = serde_json::from_slice(&read.stdout).unwrap();
    assert_eq!(sheet["title"], "信息列表");
    let rows = sheet["rows"].as_array().unwrap();
    assert!(
        rows[0][0].as_str().unwrap().starts_with("检索式：学生"),
        "the first row names the search: {}",
        rows[0]
    );
    assert_eq!(rows[1][0], "标题");
    let stories: Vec<&str> = rows[2..].iter().map(|r| r[0].as_str().unwrap()).collect();
    assert!(
        !stories.is_empty() && stories.iter().all(|t| t.contains("溺水")),
        "the narrowed result, the 防溺水 facet kept: {stories:?}"
    );
    assert_eq!(
        sheet["links"].as_array().unwrap().len(),
        stories.len(),
        "each row links to its page"
    );
    for page in ["login", "duty", "search", "document", "sources", "rules"] {
        for width in ["desktop", "phone"] {
            assert!(
                shots.join(format!("{page}-{width}.png")).exists(),
                "no screenshot of {page} at {width} width"
            );
        }
    }
}
