//! `kind = "import"`: exports analysts receive, read from `[source.import] path` on each
//! visit (see [`read`] for the formats); what was imported before is not imported again.

mod read;

use super::{Context, Visit};
use crate::CrawlError;
use chrono::Utc;
use read::ImportedAs;
use serde::Deserialize;
use std::path::PathBuf;

/// `[source.import]`
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportSettings {
    /// The JSONL file or the folder, relative to the configuration file.
    pub path: PathBuf,
}

/// [`ImportSettings`], checked.
#[derive(Debug, Clone)]
pub(crate) struct Import {
    path: PathBuf,
}

impl Import {
    pub(crate) fn build(settings: Option<&ImportSettings>) -> Result<Import, String> {
        let Some(settings) = settings else {
            return Err(
                "path: an import source needs the file or folder to read ([source.import] path = …)"
                    .into(),
            );
        };
        Ok(Import {
            path: settings.path.clone(),
        })
    }
}

impl Visit for Import {
    async fn visit(&self, cx: &mut Context<'_>) -> Result<(), CrawlError> {
        let files = read::files(&self.path).map_err(|m| cx.failure(&cx.source.url, m))?;
        let stamp = ImportedAs::from(cx.source);
        for file in files {
            let (stamp, limit) = (stamp.clone(), cx.crawler.settings.max_body_bytes);
            let entries =
                tokio::task::spawn_blocking(move || read::read(&file, &stamp, limit, Utc::now()))
                    .await
                    .map_err(|e| cx.failure(&cx.source.url, format!("import failed: {e}")))?;
            for entry in entries {
                cx.report.links += 1;
                match entry {
                    Ok((key, document)) => {
                        if !cx.seen_before(&key)? {
                            cx.hand_on(&key, document).await?;
                        }
                    }
                    Err(error) => {
                        tracing::warn!(source = cx.name(), %error, "import entry skipped");
                        cx.report.failed += 1;
                    }
                }
            }
        }
        Ok(())
    }
}
