//! The desk API as the README documents it: every route it lists answers on `yuqing run`
//! and on `yuqing serve` over the same data directory (one router, built in `desk/`).

mod util;

use serde_json::Value;
use std::process::{Command, Stdio};
use std::time::Duration;
use util::*;

/// `(method, path)` of every request the README's "The desk API" table lists.
fn readme_routes() -> Vec<(String, String)> {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let section = readme
        .split("\n## The desk API")
        .nth(1)
        .expect("the README has a section \"The desk API\"");
    let section = section.split("\n## ").next().unwrap();
    let mut routes = Vec::new();
    for line in section.lines().filter(|l| l.starts_with("| `")) {
        let first_cell = line.split(" | ").next().unwrap();
        for span in first_cell.split('`').skip(1).step_by(2) {
            let Some((method, target)) = span.split_once(' ') else {
                continue;
            };
            if !["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&method) {
                continue;
            }
            let path = target.split('?').next().unwrap();
            routes.push((method.to_string(), path.to_string()));
        }
    }
    assert!(
        routes.len() >= 15,
        "the README lists the routes: {routes:?}"
    );
    routes
}

/// Real ids to put in the routes' paths.
struct Ids {
    document: String,
    cluster: String,
    alert: String,
}

/// Asks every README route of the desk at `desk` and checks that each is served: no
/// 404, no 405, no 503 for a missing part, no server error.
async fn walk(desk: &str, ids: &Ids, label: &str) {
    let client = reqwest::Client::new();
    // The token made by `POST /api/tokens`, revoked by `DELETE /api/tokens/{id}`.
    let mut token_id = String::new();
    for (method, path) in readme_routes() {
        let id = if path.contains("alerts") || path.starts_with("/ack") {
            &ids.alert
        } else if path.starts_with("/api/clusters") {
            &ids.cluster
        } else if path.starts_with("/api/tokens") {
            &token_id
        } else {
            &ids.document
        };
        let url = format!(
            "{desk}{}",
            path.replace("{id}", id).replace("{name}", "路由检查")
        );
        let body = match path.as_str() {
            "/api/users" => {
                serde_json::json!({"name": "路由检查", "role": "duty", "password": "route check password"})
            }
            "/api/users/{name}" => serde_json::json!({"role": "analyst"}),
            "/api/login" => serde_json::json!({"name": "e2e-admin", "password": ADMIN_PASSWORD}),
            "/api/me/password" => {
                serde_json::json!({"current": ADMIN_PASSWORD, "new": ADMIN_PASSWORD})
            }
            "/api/tokens" => serde_json::json!({"label": "路由检查"}),
            "/api/rules/{name}" => serde_json::json!({"name": "路由检查", "query": "校车"}),
            _ => serde_json::json!({"note": "已核实"}),
        };
        let request = match method.as_str() {
            "GET" => client.get(&url),
            "DELETE" => client.delete(&url),
            "PUT" => client.put(&url).json(&body),
            "PATCH" => client.patch(&url).json(&body),
            "POST" if path.starts_with("/ack") => client.post(&url).form(&[("by", "值班员")]),
            "POST" => client.post(&url).json(&body),
            other => panic!("{other}"),
        };
        let response = request.send().await.unwrap();
        if method == "POST" && path == "/api/tokens" {
            let made: Value = response.json().await.unwrap();
            token_id = made["id"].as_str().unwrap().to_string();
            continue;
        }
        let status = response.status().as_u16();
        let body = response.text().await.unwrap();
        let what = format!("{label}: {method} {path} → {status} {body}");
        assert!(
            !body.contains("\"no_route\""),
            "{what}: the router has no such route"
        );
        // The ids are real and the rule is put before it is deleted: nothing is a 404.
        assert!(![404, 405, 503].contains(&status), "{what}");
        assert!(status < 500, "{what}");
        if method == "GET" {
            assert_eq!(status, 200, "{what}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_of_the_readme_is_served_by_run_and_by_serve() {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let receiver_addr = listener.local_addr().unwrap();
    let _receiver = Receiver::start_on(listener).await;
    let rules_file = dir.path().join("alerts.toml");
    let config = write_config_with(
        dir.path(),
        &format!("http://{receiver_addr}/hook"),
        300,
        "127.0.0.1:0",
        &format!(
            "\n[alerts]\nrules_file = \"{}\"\nallowed_networks = [\"127.0.0.0/8\"]\n",
            rules_file.display()
        ),
    );
    let data = dir.path().join("data");
    let mut running = start(&config, &data);
    let desk = desk_url(&data).await;
    assert_sample_indexed_once(&desk, Duration::from_secs(60)).await;
    let alerts = wait_for("the drowning alert", Duration::from_secs(30), async || {
        let cases = get_json(format!("{desk}/api/alerts")).await;
        let id = cases.as_array()?.first()?["alert_id"].as_str()?.to_string();
        Some(id)
    })
    .await;
    let hit = search(&desk, "溺水").await["hits"][0].clone();
    let ids = Ids {
        document: hit["id"].as_str().unwrap().to_string(),
        cluster: hit["cluster"].as_str().unwrap().to_string(),
        alert: alerts,
    };
    walk(&desk, &ids, "yuqing run").await;
    running.kill_hard();

    // `yuqing serve` over what `run` left, on a port of its own.
    let port = free_port();
    let serve_config = dir.path().join("serve.toml");
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "listen = \"127.0.0.1:0\"\npublic_url",
        &format!("listen = \"{port}\"\npublic_url"),
    );
    std::fs::write(&serve_config, text).unwrap();
    let mut serve = Command::new(BIN)
        .arg("--config")
        .arg(&serve_config)
        .arg("--data-dir")
        .arg(&data)
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let desk = with_token(&format!("http://{port}"), &data);
    let health: Value = wait_for("yuqing serve", Duration::from_secs(20), async || {
        reqwest::get(format!("{desk}/api/health"))
            .await
            .ok()?
            .json()
            .await
            .ok()
    })
    .await;
    assert_eq!(health["status"], "ok");
    assert_eq!(
        search(&desk, "").await["total"],
        SAMPLE_TITLES.len(),
        "serve searches the index run made"
    );
    walk(&desk, &ids, "yuqing serve").await;
    let case = get_json(format!("{desk}/api/alerts/{}", ids.alert)).await;
    assert_eq!(
        case["state"], "closed",
        "serve acts on the same case log: {case}"
    );
    serve.kill().unwrap();
    serve.wait().unwrap();
}
