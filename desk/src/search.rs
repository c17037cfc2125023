//! Search and reading: `/api/search`, documents with their analysis, snapshots (存证)
//! and reprint clusters. Everything here reads the index.

use crate::error::{blocking, DeskError};
use crate::{DEFAULT_LIMIT, MAX_LIMIT};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use yuqing_indexer::{
    Cursor, Interval, SearchError, SearchIndex, SearchRequest, SearchResults, Sort,
    MAX_RESULT_WINDOW,
};

pub(crate) fn routes(index: SearchIndex) -> Router {
    Router::new()
        .route("/api/search", get(search))
        .route("/api/search/export.xlsx", get(crate::export::export_xlsx))
        .route("/api/documents/{id}", get(document))
        .route("/api/documents/{id}/snapshot", get(snapshot))
        .route("/api/clusters/{id}", get(cluster))
        .with_state(index)
}

#[derive(Debug, Deserialize)]
struct SearchParams {
    #[serde(default)]
    q: String,
    limit: Option<usize>,
    /// relevance (default), time or risk.
    sort: Option<String>,
    /// `false` leaves out the counts per topic, district, … and the time histogram.
    facets: Option<bool>,
    /// hour or day (default): the histogram's buckets.
    interval: Option<String>,
    /// `true`: one row per story, reprints left out (each row has `cluster_size`).
    #[serde(default)]
    collapse: bool,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// A page of results, with the cursor of the next page when there is one.
#[derive(Serialize)]
struct Page {
    #[serde(flatten)]
    results: SearchResults,
    next_cursor: Option<String>,
}

async fn search(
    State(index): State<SearchIndex>,
    Query(params): Query<SearchParams>,
) -> Result<Json<Page>, DeskError> {
    let cursor = match params.cursor.as_deref() {
        None | Some("") => Cursor::first(chrono::Utc::now()),
        Some(token) => Cursor::decode(token).ok_or_else(|| {
            DeskError::BadParameter(format!(
                "cursor `{token}` is not one this server gave (use next_cursor as it came)"
            ))
        })?,
    };
    let sort = match params.sort.as_deref() {
        None | Some("") => Sort::default(),
        Some(text) => text.parse().map_err(DeskError::BadParameter)?,
    };
    let interval = match params.interval.as_deref() {
        None | Some("") | Some("day") => Interval::Day,
        Some("hour") => Interval::Hour,
        Some(other) => {
            return Err(DeskError::BadParameter(format!(
                "interval is hour or day, not `{other}`"
            )))
        }
    };
    let limit = params.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
    let mut request = SearchRequest {
        query: params.q,
        limit,
        sort,
        facets: params.facets.unwrap_or(true).then_some(interval),
        collapse: params.collapse,
        among_ids: None,
        fetched_within: None,
        offset: 0,
    };
    cursor
        .apply(&mut request)
        .ok_or_else(|| DeskError::BadParameter("cursor: not a time".into()))?;
    let collapse = request.collapse;
    match blocking("search", move || index.search(&request)).await? {
        Ok(results) => {
            let next = cursor.offset + limit;
            let more = results.hits.len() == limit
                && next < MAX_RESULT_WINDOW
                && (collapse || next < results.total);
            let next_cursor = more.then(|| {
                Cursor {
                    offset: next,
                    fetched_before: cursor.fetched_before,
                }
                .encode()
            });
            Ok(Json(Page {
                results,
                next_cursor,
            }))
        }
        Err(SearchError::BadQuery(message)) => Err(DeskError::BadQuery(message)),
        Err(error @ SearchError::BeyondWindow { .. }) => {
            Err(DeskError::BadParameter(format!("cursor: {error}")))
        }
        Err(error) => {
            tracing::error!(%error, "search failed");
            Err(DeskError::Internal)
        }
    }
}

/// `GET /api/documents/{id}/snapshot`: the page as it was fetched (存证), even if its
/// site has removed it. Crawled pages are hostile: the page is served sandboxed, with
/// no script, style or request allowed, and never sniffed as anything else.
async fn snapshot(
    State(index): State<SearchIndex>,
    Path(id): Path<String>,
) -> Result<Response, DeskError> {
    let missing = format!("no snapshot of document {id}");
    let bytes = blocking("snapshot", move || index.snapshot(&id))
        .await?
        .ok_or(DeskError::NotFound(missing))?;
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "text/html"),
            (
                axum::http::header::CONTENT_SECURITY_POLICY,
                "sandbox; default-src 'none'; frame-ancestors 'self'",
            ),
            // Shown in the desk's own page (详情), nowhere else.
            (axum::http::header::X_FRAME_OPTIONS, "SAMEORIGIN"),
            (axum::http::header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (axum::http::header::REFERRER_POLICY, "no-referrer"),
        ],
        bytes,
    )
        .into_response())
}

/// `GET /api/documents/{id}`: the document with its analysis (every tag with the rule
/// and the matched words and offsets) and its reprint cluster.
async fn document(
    State(index): State<SearchIndex>,
    Path(id): Path<String>,
) -> Result<Response, DeskError> {
    let found = blocking("document", move || index.document(&id))
        .await?
        .map_err(|error| {
            tracing::error!(%error, "document lookup failed");
            DeskError::Internal
        })?;
    Ok(match found {
        Some((document, cluster)) => Json(serde_json::json!({
            "document": document.document,
            "analysis": document.analysis,
            "cluster": cluster,
        }))
        .into_response(),
        None => DeskError::NotFound("no document with this id".into()).into_response(),
    })
}

/// `GET /api/clusters/{id}`: the documents of one story (its reprints), first published
/// first.
async fn cluster(
    State(index): State<SearchIndex>,
    Path(id): Path<String>,
) -> Result<Response, DeskError> {
    let members = blocking("cluster", move || index.cluster_members(&id, MAX_LIMIT))
        .await?
        .map_err(|error| {
            tracing::error!(%error, "cluster lookup failed");
            DeskError::Internal
        })?;
    if members.is_empty() {
        return Ok(DeskError::NotFound("no cluster with this id".into()).into_response());
    }
    let rows: Vec<serde_json::Value> = members
        .into_iter()
        .map(|d| {
            serde_json::json!({
                "id": d.document.id,
                "title": d.document.title,
                "url": d.document.url,
                "source": d.document.source,
                "origin": d.document.origin,
                "published_at": d.document.published_at,
                "fetched_at": d.document.fetched_at,
            })
        })
        .collect();
    Ok(Json(serde_json::json!({ "cluster": rows.first().map(|r| r["id"].clone()), "size": rows.len(), "members": rows })).into_response())
}
