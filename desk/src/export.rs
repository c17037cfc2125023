//! `GET /api/search/export.xlsx`: a search's result as a spreadsheet, for staff who pass
//! lists on. The first row says which search it is, so the figures can be reproduced;
//! every cell is written as text (a crawled title that starts with `=` stays a title),
//! and each row links to its page.

use crate::error::{blocking, DeskError};
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use rust_xlsxwriter::{Format, Url, Workbook};
use serde::Deserialize;
use yuqing_indexer::{SearchError, SearchHit, SearchIndex, SearchRequest, Sort};

/// Rows in one export: the result window paging reaches.
const MAX_EXPORT_ROWS: usize = yuqing_indexer::MAX_RESULT_WINDOW;

#[derive(Debug, Deserialize)]
pub(crate) struct ExportParams {
    #[serde(default)]
    q: String,
    sort: Option<String>,
    #[serde(default)]
    collapse: bool,
    limit: Option<usize>,
}

const COLUMNS: &[(&str, f64)] = &[
    ("标题", 48.0),
    ("来源", 18.0),
    ("来源类型", 10.0),
    ("发布时间", 18.0),
    ("情感", 6.0),
    ("风险", 6.0),
    ("话题", 16.0),
    ("属地", 12.0),
    ("学校", 16.0),
    ("相同报道", 8.0),
    ("原文链接", 40.0),
];

pub(crate) async fn export_xlsx(
    State(index): State<SearchIndex>,
    Query(params): Query<ExportParams>,
) -> Result<Response, DeskError> {
    let sort = match params.sort.as_deref() {
        None | Some("") => Sort::default(),
        Some(text) => text.parse().map_err(DeskError::BadParameter)?,
    };
    let request = SearchRequest {
        query: params.q.clone(),
        limit: params
            .limit
            .unwrap_or(MAX_EXPORT_ROWS)
            .clamp(1, MAX_EXPORT_ROWS),
        sort,
        collapse: params.collapse,
        ..SearchRequest::default()
    };
    let results = match blocking("export", move || index.search(&request)).await? {
        Ok(results) => results,
        Err(SearchError::BadQuery(error)) => return Err(DeskError::BadQuery(error)),
        Err(error) => {
            tracing::error!(%error, "export search failed");
            return Err(DeskError::Internal);
        }
    };
    let query = params.q;
    let bytes = blocking("export", move || {
        workbook(&query, results.total, &results.hits)
    })
    .await?
    .map_err(|error| {
        tracing::error!(%error, "export workbook failed");
        DeskError::Internal
    })?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"yuqing-search.xlsx\"",
            ),
        ],
        bytes,
    )
        .into_response())
}

fn workbook(
    query: &str,
    total: usize,
    hits: &[SearchHit],
) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("信息列表")?;
    let bold = Format::new().set_bold();
    let shown = if query.trim().is_empty() {
        "（全部）"
    } else {
        query
    };
    sheet.write_string(
        0,
        0,
        format!("检索式：{shown}　共 {total} 条，导出 {} 条", hits.len()),
    )?;
    for (column, (name, width)) in COLUMNS.iter().enumerate() {
        let column = column as u16;
        sheet.write_string_with_format(1, column, *name, &bold)?;
        sheet.set_column_width(column, *width)?;
    }
    for (n, hit) in hits.iter().enumerate() {
        let row = n as u32 + 2;
        let cells = [
            hit.title.clone(),
            hit.source.clone(),
            hit.source_type.clone(),
            hit.published_at
                .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                .unwrap_or_default(),
            sentiment_zh(&hit.sentiment).to_string(),
            risk_zh(&hit.risk).to_string(),
            hit.topics.join("、"),
            hit.districts.join("、"),
            hit.schools.join("、"),
        ];
        for (column, text) in cells.iter().enumerate() {
            // Strings, never formulas, whatever the text begins with.
            sheet.write_string(row, column as u16, text)?;
        }
        sheet.write_number(row, 9, hit.cluster_size as f64)?;
        if hit.url.starts_with("http://") || hit.url.starts_with("https://") {
            sheet.write_url(row, 10, Url::new(&hit.url))?;
        } else {
            sheet.write_string(row, 10, &hit.url)?;
        }
    }
    sheet.set_freeze_panes(2, 0)?;
    book.save_to_buffer()
}

fn sentiment_zh(label: &str) -> &str {
    match label {
        "negative" => "负面",
        "neutral" => "中性",
        "positive" => "正面",
        other => other,
    }
}

fn risk_zh(level: &str) -> &str {
    match level {
        "high" => "高",
        "medium" => "中",
        "low" => "低",
        other => other,
    }
}
