//! `yuqing bench analyze`: the analyzer's throughput beside jieba-rs segmentation alone
//! and Python jieba on the same text.

use super::{corpus, median, megabytes_per_sec, peer_script};
use crate::config::Config;
use anyhow::{bail, Context};
use std::time::{Duration, Instant};
use yuqing_analyzer::Analyzer;
use yuqing_model::RawDocument;

#[derive(clap::Args)]
pub struct AnalyzeBench {
    #[arg(long, default_value_t = 5000)]
    pub docs: usize,
    #[arg(long, default_value_t = 3)]
    pub repeat: usize,
    /// Also time Python jieba on the same text (scripts/peers/jieba_cut.py; needs
    /// `pip install jieba`).
    #[arg(long)]
    pub peer: bool,
}

/// Documents timed at a time in `bench analyze`: long enough to time well (about 20 ms),
/// short enough that the machine's speed holds while both are timed.
const ANALYZE_CHUNK: usize = 250;

/// Throughput of the analyzer beside jieba-rs segmentation alone (and Python jieba).
pub fn run(config: &Config, options: AnalyzeBench) -> anyhow::Result<()> {
    let analyzer = Analyzer::load(&config.analyzer)?;
    let segmenter = analyzer.segmenter();
    let docs = corpus(config, options.docs, "analyze")?;
    let bytes: usize = docs.iter().map(|d| d.title.len() + d.content.len()).sum();
    println!(
        "analyzer benchmark: {} documents, {:.1} MB of Chinese text, {} run(s), medians, one thread",
        docs.len(),
        bytes as f64 / 1e6,
        options.repeat
    );
    // The two are timed on the same chunk of documents one after the other, chunk by
    // chunk, so that this machine's changes of speed (which come and go within seconds)
    // fall on both alike; which goes first alternates, so neither always finds the
    // chunk's text already in the cache. The ratio is the median of the chunks' ratios.
    let segment = |chunk: &[RawDocument]| -> usize {
        chunk
            .iter()
            .map(|d| segmenter.words(&d.title).len() + segmenter.words(&d.content).len())
            .sum()
    };
    let analyze = |chunk: &[RawDocument]| -> usize {
        chunk
            .iter()
            .map(|d| analyzer.analyze(&d.title, &d.content).topics.len())
            .sum()
    };
    let words = segment(&docs);
    std::hint::black_box(analyze(&docs)); // warm-up, not counted
    let (mut segmentation, mut analysis, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..options.repeat.max(1) {
        let (mut segmentation_time, mut analysis_time) = (Duration::ZERO, Duration::ZERO);
        for (k, chunk) in docs.chunks(ANALYZE_CHUNK).enumerate() {
            let time = |work: &dyn Fn(&[RawDocument]) -> usize| {
                let start = Instant::now();
                std::hint::black_box(work(chunk));
                start.elapsed()
            };
            let (seg, all) = if k % 2 == 0 {
                let seg = time(&segment);
                (seg, time(&analyze))
            } else {
                let all = time(&analyze);
                (time(&segment), all)
            };
            segmentation_time += seg;
            analysis_time += all;
            ratios.push(seg.as_secs_f64() / all.as_secs_f64());
        }
        segmentation.push(megabytes_per_sec(bytes, segmentation_time));
        analysis.push(megabytes_per_sec(bytes, analysis_time));
    }
    let segmentation = median(segmentation);
    let analysis = median(analysis);
    let ratio = median(ratios);
    println!("jieba-rs segmentation  {segmentation:>7.2} MB/s   ({words} words)");
    println!(
        "yuqing analyzer        {analysis:>7.2} MB/s   ({:.0}% of segmentation alone, median of {}-document chunks)",
        100.0 * ratio,
        ANALYZE_CHUNK
    );
    if options.peer {
        let file = tempfile::NamedTempFile::new()?;
        let text: String = docs
            .iter()
            .map(|d| format!("{} {}\n", d.title, d.content.replace('\n', " ")))
            .collect();
        std::fs::write(file.path(), text)?;
        let script = peer_script("jieba_cut.py")?;
        let output = std::process::Command::new("python3")
            .arg(script)
            .arg(file.path())
            .arg(options.repeat.max(1).to_string())
            .output()
            .context("cannot run python3")?;
        if !output.status.success() {
            bail!(
                "the Python jieba peer failed (pip install jieba?): {}",
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        let result: serde_json::Value = serde_json::from_slice(&output.stdout)?;
        let python = result["mb_per_sec"]
            .as_f64()
            .context("peer printed no mb_per_sec")?;
        println!(
            "Python jieba (peer)    {python:>7.2} MB/s   (analyzer {:.0}×, segmentation {:.0}× faster)",
            analysis / python,
            segmentation / python
        );
    }
    Ok(())
}
