//! `yuqing`: school-safety public-opinion monitoring.
//!
//! ```text
//! yuqing run                 # the whole system: crawl → analyze → index → alert, and the desk API
//! yuqing search 溺水 温县     # search what has been collected
//! yuqing serve               # the desk API alone, over an existing index
//! ```

/// Every crawled document becomes many small strings (words, tags, explanations, index
/// terms); mimalloc serves them faster than the C library's allocator and leaves the
/// segmenter's dictionary in the cache more often (analyzer: about 10% faster).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod alerts_cli;
mod analyze;
mod bench;
mod bench_alerts;
mod bench_crawl;
mod config;
mod eval;
mod extract;
mod pipeline;
mod reanalyze;
mod sample_site;
mod status;

use clap::{Parser, Subcommand};
use config::Config;
use pipeline::{DataDir, RunOptions};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use yuqing_indexer::{SearchRequest, SearchResults};

#[derive(Parser)]
#[command(
    name = "yuqing",
    version,
    about = "School-safety public-opinion (舆情) monitoring"
)]
struct Cli {
    /// The configuration file.
    #[arg(long, global = true, default_value = "config/default.toml")]
    config: PathBuf,
    /// Where the index, the state database and the alert log are kept.
    #[arg(long, global = true, default_value = "data")]
    data_dir: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the whole system: crawler, analyzer, indexer, alerts and the desk API.
    Run {
        /// Visit each source once, finish indexing and alerting, then exit (embedded bus).
        #[arg(long)]
        once: bool,
        /// The bus linking the stages (default: `[bus] transport` of the configuration).
        #[arg(long = "bus", value_enum)]
        transport: Option<config::Transport>,
        /// The stages this process runs; roles other than `all` need `--bus kafka`.
        #[arg(long, value_enum, default_value = "all")]
        role: pipeline::Role,
        /// K/N: crawl only this process's share of the sources (N crawler processes).
        #[arg(long)]
        shard: Option<pipeline::Shard>,
    },
    /// Show the state of the system: documents indexed, alerts waiting, Kafka consumer lag.
    Status {
        #[arg(long)]
        json: bool,
        /// The bus to inspect (default: `[bus] transport` of the configuration).
        #[arg(long = "bus", value_enum)]
        transport: Option<config::Transport>,
    },
    /// Search the collected documents (works while `yuqing run` is writing).
    Search {
        /// Words to search for; all must appear. Empty: the newest documents.
        query: Vec<String>,
        /// Print `{"total": N, "hits": [...]}` instead of text.
        #[arg(long)]
        json: bool,
        #[arg(long, default_value_t = 10)]
        limit: usize,
        /// relevance (default; time for an empty query), time, risk or spread.
        #[arg(long, default_value = "relevance")]
        sort: yuqing_indexer::Sort,
        /// One row per story: leave out reprints of a story already listed.
        #[arg(long)]
        collapse: bool,
    },
    /// Serve the desk API over the existing index, without crawling.
    Serve,
    /// Extract title, publish time, 来源, author and body from article pages (files or
    /// URLs), one JSON line per page.
    Extract {
        /// Files or http(s) URLs.
        #[arg(required = true)]
        inputs: Vec<String>,
        /// The output format (one JSON object per line; the only format).
        #[arg(long)]
        json: bool,
        /// Use the `[source.extract]` selectors of this configured source, to check them.
        #[arg(long, value_name = "NAME")]
        source: Option<String>,
    },
    /// Analyze text from stdin with the configured rules: topics, sentiment, regions,
    /// schools and risk, with the matched words and their offsets.
    Analyze {
        /// All of stdin is one text; print one JSON object.
        #[arg(long, conflicts_with = "jsonl")]
        json: bool,
        /// Each stdin line is {"id","title","text"}; print one result per line.
        #[arg(long)]
        jsonl: bool,
    },
    /// Re-tag what is already indexed with the current rules and dictionaries (no
    /// recrawl): first shows how many documents gain or lose each topic, with examples.
    Reanalyze {
        /// Write the new tags into the index (stop `yuqing run` first).
        #[arg(long)]
        apply: bool,
        /// Examples shown per topic and direction.
        #[arg(long, default_value_t = 3)]
        examples: usize,
    },
    /// Dictionary and rule tools for analysts.
    #[command(subcommand)]
    Dict(DictCommand),
    /// The alert case log (台账): list, show, acknowledge, close.
    #[command(subcommand)]
    Alerts(alerts_cli::AlertsCommand),
    /// Measure the system's speed; prints figures.
    #[command(subcommand)]
    Bench(BenchCommand),
}

#[derive(Subcommand)]
enum DictCommand {
    /// Show, for sample texts (first line = title), what fires and why: topics with their
    /// matched words and offsets, sentiment words, districts, schools, risk.
    Test {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Score the rules on a labelled JSONL file (`{"id","title","text","topics":[…],
    /// "sentiment"}` per line): per-topic precision, recall and F1, sentiment accuracy,
    /// and the examples that came out wrong.
    Eval {
        labelled: PathBuf,
        #[arg(long)]
        json: bool,
        /// Also run SnowNLP's sentiment on the same texts (needs `pip install snownlp`).
        #[arg(long)]
        peer: bool,
    },
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Documents per second from hand-off to index commit, and the latency from hand-off
    /// to searchable, through the embedded bus and (with --kafka) through Kafka.
    Pipeline {
        #[arg(long, default_value_t = 5000)]
        docs: usize,
        #[arg(long, default_value_t = 3)]
        repeat: usize,
        /// Kafka brokers to measure beside the embedded bus, e.g. 127.0.0.1:9092.
        #[arg(long)]
        kafka: Option<String>,
        /// Replaces the configuration's `[indexer] commit_interval_ms`.
        #[arg(long)]
        commit_interval_ms: Option<u64>,
        /// Documents per second handed over in the latency run.
        #[arg(long, default_value_t = 500.0)]
        rate: f64,
    },
    /// Indexing docs/s, MB/s, size and peak memory, then search latency p50/p99 for the
    /// desk's query mix, on a generated corpus.
    Index {
        #[arg(long, default_value_t = 100_000)]
        docs: usize,
        /// How many times each query of the mix runs.
        #[arg(long, default_value_t = 25)]
        searches: usize,
        /// Keep the index in this folder; when it already holds one, skip indexing and
        /// only measure searches (a million documents take minutes to index).
        #[arg(long)]
        index_dir: Option<PathBuf>,
    },
    /// Latency from a document's arrival at the indexer to the webhook request leaving,
    /// with many alert rules loaded (embedded mode).
    Alerts {
        #[arg(long, default_value_t = 300)]
        docs: usize,
        #[arg(long, default_value_t = 200)]
        rules: usize,
        /// Documents handed to the indexer per second.
        #[arg(long, default_value_t = 50.0)]
        rate: f64,
        #[arg(long, default_value_t = 200)]
        commit_interval_ms: u64,
    },
    /// Pages per second fetched and extracted from a loopback server, extraction alone
    /// in MB/s, and extraction accuracy, beside (with --peer) Python GNE on the same pages.
    Crawl {
        #[arg(long, default_value_t = 400)]
        pages: usize,
        #[arg(long, default_value_t = 3)]
        repeat: usize,
        #[arg(long)]
        peer: bool,
        /// Also write the generated pages to this folder (to try other extractors on).
        #[arg(long, value_name = "DIR")]
        save_pages: Option<std::path::PathBuf>,
    },
    /// Analyzer throughput in MB/s beside jieba-rs segmentation alone and (with --peer)
    /// Python jieba on the same text.
    Analyze {
        #[arg(long, default_value_t = 5000)]
        docs: usize,
        #[arg(long, default_value_t = 3)]
        repeat: usize,
        #[arg(long)]
        peer: bool,
    },
}

fn init_logging(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal, never in log files.
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let quiet = matches!(
        cli.command,
        Command::Search { .. }
            | Command::Status { .. }
            | Command::Bench(_)
            | Command::Analyze { .. }
            | Command::Extract { .. }
            | Command::Alerts(_)
            | Command::Dict(_)
            | Command::Reanalyze { .. }
    );
    init_logging(if quiet {
        "warn"
    } else {
        "info,tantivy=warn,html5ever=error,selectors=error"
    });

    // The configuration is checked before anything else happens.
    let config = match Config::load(&cli.config) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    let data = DataDir::new(&cli.data_dir);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Run {
                once,
                transport,
                role,
                shard,
            } => {
                pipeline::run(
                    config,
                    data,
                    RunOptions {
                        once,
                        role,
                        transport,
                        shard,
                    },
                )
                .await
            }
            Command::Status { json, transport } => status::print(&config, &data, transport, json),
            Command::Search {
                query,
                json,
                limit,
                sort,
                collapse,
            } => {
                let options = SearchOptions {
                    json,
                    limit,
                    sort,
                    collapse,
                };
                search(&config, &data, &query.join(" "), options)
            }
            Command::Serve => serve(&config, &data).await,
            Command::Alerts(command) => alerts_cli::run(&data, command),
            Command::Dict(DictCommand::Test { files }) => {
                let analyzer = yuqing_analyzer::Analyzer::load(&config.analyzer)?;
                analyze::explain_files(&analyzer, &files)
            }
            Command::Dict(DictCommand::Eval {
                labelled,
                json,
                peer,
            }) => {
                let analyzer = yuqing_analyzer::Analyzer::load(&config.analyzer)?;
                let examples = eval::read_labelled(&labelled)?;
                let report = eval::evaluate(&analyzer, &examples);
                let peer = if peer {
                    Some(eval::snownlp_accuracy(&labelled)?)
                } else {
                    None
                };
                eval::print(&report, peer, json)
            }
            Command::Reanalyze { apply, examples } => {
                reanalyze::run(&config, &data, apply, examples)
            }
            Command::Extract {
                inputs,
                json: _,
                source,
            } => {
                let rules = match source {
                    None => yuqing_crawler::ExtractRules::default(),
                    Some(name) => config.extract_rules(&name)?,
                };
                extract::run(&config.crawler, &inputs, &rules).await
            }
            Command::Analyze { json: _, jsonl } => {
                let analyzer = yuqing_analyzer::Analyzer::load(&config.analyzer)?;
                analyze::run(&analyzer, jsonl)
            }
            Command::Bench(BenchCommand::Pipeline {
                docs,
                repeat,
                kafka,
                commit_interval_ms,
                rate,
            }) => {
                let options = bench::PipelineBench {
                    docs,
                    repeat,
                    kafka,
                    commit_interval_ms,
                    rate,
                };
                bench::pipeline(&config, options).await
            }
            Command::Bench(BenchCommand::Index {
                docs,
                searches,
                index_dir,
            }) => bench::index(
                &config,
                bench::IndexBench {
                    docs,
                    searches,
                    index_dir,
                },
            ),
            Command::Bench(BenchCommand::Crawl {
                pages,
                repeat,
                peer,
                save_pages,
            }) => {
                let options = bench_crawl::CrawlBench {
                    pages,
                    repeat,
                    peer,
                    save_pages,
                };
                bench_crawl::run(&config, options).await
            }
            Command::Bench(BenchCommand::Analyze { docs, repeat, peer }) => {
                bench::analyze(&config, bench::AnalyzeBench { docs, repeat, peer })
            }
            Command::Bench(BenchCommand::Alerts {
                docs,
                rules,
                rate,
                commit_interval_ms,
            }) => {
                let options = bench_alerts::AlertsBench {
                    docs,
                    rules,
                    rate,
                    commit_interval_ms,
                };
                bench_alerts::run(&config, options).await
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

struct SearchOptions {
    json: bool,
    limit: usize,
    sort: yuqing_indexer::Sort,
    collapse: bool,
}

fn search(
    config: &Config,
    data: &DataDir,
    query: &str,
    options: SearchOptions,
) -> anyhow::Result<()> {
    let SearchOptions {
        json,
        limit,
        sort,
        collapse,
    } = options;
    let (_, index) = pipeline::open_index(config, data, false)?;
    let results = index.search(&SearchRequest {
        query: query.to_string(),
        limit: limit.max(1),
        sort,
        facets: None,
        collapse,
        among_ids: None,
        fetched_within: None,
        offset: 0,
    })?;
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer(&mut out, &results)?;
        writeln!(out)?;
    } else {
        print_results(&mut out, &results)?;
    }
    Ok(())
}

fn print_results(out: &mut impl Write, results: &SearchResults) -> std::io::Result<()> {
    writeln!(
        out,
        "共 {} 条结果，显示 {} 条",
        results.total,
        results.hits.len()
    )?;
    for (n, hit) in results.hits.iter().enumerate() {
        let time = hit
            .published_at
            .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_else(|| "时间未知".into());
        let topics = if hit.topics.is_empty() {
            "无".to_string()
        } else {
            hit.topics.join("、")
        };
        let sentiment = yuqing_model::Sentiment::parse(&hit.sentiment)
            .map(|s| s.zh())
            .unwrap_or("未知");
        writeln!(out, "\n{}. {}", n + 1, hit.title)?;
        let districts = if hit.districts.is_empty() {
            String::new()
        } else {
            format!(" | 属地：{}", hit.districts.join("、"))
        };
        let risk = yuqing_model::RiskLevel::parse(&hit.risk).map_or("未知", |r| r.zh());
        writeln!(
            out,
            "   来源：{} | {} | 话题：{} | 情感：{} | 风险：{}{}",
            hit.source, time, topics, sentiment, risk, districts
        )?;
        if hit.cluster_size > 1 {
            writeln!(
                out,
                "   转载 {} 篇，首发：{}",
                hit.cluster_size, hit.first_source
            )?;
        }
        if let Some(e) = hit.engagement {
            let region = hit
                .ip_region
                .as_deref()
                .map(|r| format!(" | IP属地：{r}"))
                .unwrap_or_default();
            writeln!(
                out,
                "   转发 {} | 评论 {} | 点赞 {}{region}",
                e.reposts, e.comments, e.likes
            )?;
        }
        writeln!(out, "   {}", hit.snippet_text())?;
        writeln!(out, "   {}", hit.url)?;
    }
    Ok(())
}

/// `yuqing serve`: the desk over what the data directory holds, without crawling. A part
/// that is not there yet (no index, no state database) answers 503 saying so.
async fn serve(config: &Config, data: &DataDir) -> anyhow::Result<()> {
    let (analyzer, index) = match pipeline::open_index(config, data, false) {
        Ok((analyzer, index)) => (Some(analyzer), Some(index)),
        Err(error) => {
            tracing::warn!(%error, "no index to serve; search answers 503 until `yuqing run` has made one");
            (None, None)
        }
    };
    let state_db = data.state_db();
    let (alert_store, seen) = if state_db.exists() {
        (
            Some(std::sync::Arc::new(yuqing_alerts::AlertStore::open(
                &state_db,
            )?)),
            yuqing_crawler::SeenStore::open(&state_db)
                .ok()
                .map(std::sync::Arc::new),
        )
    } else {
        tracing::warn!(path = %state_db.display(), "no state database; the alert routes answer 503");
        (None, None)
    };
    let rule_book = pipeline::load_rule_book(config, index.as_ref())?;
    let kafka = match config.bus.transport {
        config::Transport::Kafka => Some(std::sync::Arc::new(yuqing_bus_kafka::KafkaBus::new(
            config.bus.kafka.clone(),
        )?)),
        config::Transport::Embedded => None,
    };
    let status = status::SystemStatus {
        index: index.clone(),
        alert_store: alert_store.clone(),
        analyzer,
        seen,
        kafka,
    };
    let router = yuqing_desk::router(yuqing_desk::DeskParts {
        index,
        alert_store,
        rule_book: Some(rule_book),
        status: Some(std::sync::Arc::new(status)),
    });
    let listener = yuqing_desk::bind(config.desk.listen).await?;
    tracing::info!(url = %format!("http://{}", listener.local_addr()?), "desk API listening");
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            let _ = stop.send(true);
        }
    });
    yuqing_desk::serve(listener, router, shutdown).await?;
    Ok(())
}
