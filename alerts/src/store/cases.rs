//! The case log (台账) of alerts: each alert's life — raised, delivered on each channel
//! (or failing), acknowledged, closed with a note — kept in the state database beside
//! the outbox, for on-call staff and for the record.

use super::AlertStore;
use chrono::Utc;
use rusqlite::{params, OptionalExtension};
use serde::Serialize;
use yuqing_model::Alert;

pub(crate) const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS alert_case (
        alert_id TEXT PRIMARY KEY,
        rule TEXT NOT NULL,
        title TEXT NOT NULL,
        url TEXT NOT NULL,
        raised_at TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'raised',
        acknowledged_at TEXT,
        acknowledged_by TEXT,
        closed_at TEXT,
        note TEXT
    );
    CREATE TABLE IF NOT EXISTS alert_event (
        alert_id TEXT NOT NULL,
        at TEXT NOT NULL,
        event TEXT NOT NULL,
        detail TEXT
    );
    CREATE INDEX IF NOT EXISTS alert_event_alert ON alert_event (alert_id);";

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Case {
    pub alert_id: String,
    pub rule: String,
    pub title: String,
    pub url: String,
    pub raised_at: String,
    /// raised, acknowledged or closed.
    pub state: String,
    pub acknowledged_at: Option<String>,
    pub acknowledged_by: Option<String>,
    /// Who the case is given to (指派).
    pub assignee: Option<String>,
    pub closed_at: Option<String>,
    pub closed_by: Option<String>,
    /// How a closed case ended: `handled` (已办结) or `false_alarm` (误报, its reason in
    /// the note), which the rules' evaluation counts against them.
    pub outcome: Option<String>,
    pub note: Option<String>,
    /// What the duty view shows of the alert besides its title.
    #[serde(flatten)]
    pub facts: CaseFacts,
    pub deliveries: Vec<DeliveryRecord>,
    pub events: Vec<Event>,
}

/// What the duty view shows of an alert besides its title (risk, where, which school,
/// how far it spread), kept with its case as the alert had it when raised. Cases opened
/// before these were kept have them empty.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize, PartialEq)]
pub struct CaseFacts {
    /// `high`, `medium` or `low`: the alert's severity.
    pub severity: Option<String>,
    pub source: Option<String>,
    pub doc_id: Option<String>,
    #[serde(default)]
    pub topics: Vec<String>,
    #[serde(default)]
    pub districts: Vec<String>,
    #[serde(default)]
    pub schools: Vec<String>,
    #[serde(default)]
    pub cluster_size: usize,
}

impl CaseFacts {
    fn of(alert: &Alert) -> CaseFacts {
        let known = |s: &str| (!s.is_empty()).then(|| s.to_string());
        CaseFacts {
            severity: Some(alert.severity.as_str().to_string()),
            source: known(&alert.source),
            doc_id: known(&alert.doc_id),
            topics: alert.topics.clone(),
            districts: alert.districts.clone(),
            schools: alert.schools.clone(),
            cluster_size: alert.cluster_size,
        }
    }
}

/// Adds the columns a case table made before them lacks.
pub(crate) fn migrate(db: &rusqlite::Connection) -> rusqlite::Result<()> {
    for column in ["facts", "closed_by", "outcome", "assignee"] {
        let present = db
            .prepare("SELECT 1 FROM pragma_table_info('alert_case') WHERE name = ?1")?
            .exists([column])?;
        if !present {
            db.execute_batch(&format!("ALTER TABLE alert_case ADD COLUMN {column} TEXT"))?;
        }
    }
    Ok(())
}

/// How on-call staff close an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// 已办结: the matter was dealt with.
    Handled,
    /// 误报: the alert was wrong; the note says why.
    FalseAlarm,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Handled => "handled",
            Outcome::FalseAlarm => "false_alarm",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            Outcome::Handled => "已办结",
            Outcome::FalseAlarm => "误报",
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DeliveryRecord {
    pub channel: String,
    /// pending or delivered.
    pub status: String,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub delivered_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Event {
    pub at: String,
    pub event: String,
    pub detail: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    #[error("no alert with id {0}")]
    NotFound(String),
    #[error("alert {id} is already {state}")]
    WrongState { id: String, state: String },
    #[error("a false alarm (误报) needs its reason in the note")]
    NeedsReason,
    #[error("alert state: {0}")]
    State(#[from] rusqlite::Error),
    #[error("export: {0}")]
    Export(#[from] std::io::Error),
}

impl AlertStore {
    /// Opens a case for a new alert (once; a repeated call changes nothing).
    pub fn open_case(&self, alert: &Alert) -> rusqlite::Result<()> {
        let db = self.db();
        let inserted = db.execute(
            "INSERT OR IGNORE INTO alert_case (alert_id, rule, title, url, raised_at, facts) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                alert.id,
                alert.rule,
                alert.title,
                alert.url,
                alert.raised_at.to_rfc3339(),
                serde_json::to_string(&CaseFacts::of(alert)).expect("facts serialize infallibly"),
            ],
        )?;
        if inserted > 0 {
            db.execute(
                "INSERT INTO alert_event (alert_id, at, event, detail) VALUES (?1, ?2, 'raised', ?3)",
                params![alert.id, alert.raised_at.to_rfc3339(), format!("规则：{}", alert.rule)],
            )?;
        }
        Ok(())
    }

    pub(crate) fn record(&self, alert_id: &str, event: &str, detail: &str) -> rusqlite::Result<()> {
        self.db().execute(
            "INSERT INTO alert_event (alert_id, at, event, detail) VALUES (?1, ?2, ?3, ?4)",
            params![alert_id, Utc::now().to_rfc3339(), event, detail],
        )?;
        Ok(())
    }

    fn state_of(&self, id: &str) -> Result<String, CaseError> {
        self.db()
            .query_row(
                "SELECT state FROM alert_case WHERE alert_id = ?1",
                [id],
                |r| r.get(0),
            )
            .optional()?
            .ok_or_else(|| CaseError::NotFound(id.to_string()))
    }

    /// 签收: someone on call has taken the alert.
    pub fn acknowledge(&self, id: &str, by: &str) -> Result<(), CaseError> {
        let state = self.state_of(id)?;
        if state != "raised" {
            return Err(CaseError::WrongState {
                id: id.into(),
                state,
            });
        }
        let now = Utc::now().to_rfc3339();
        self.db().execute(
            "UPDATE alert_case SET state = 'acknowledged', acknowledged_at = ?2, acknowledged_by = ?3 WHERE alert_id = ?1",
            params![id, now, by],
        )?;
        self.record(id, "acknowledged", &format!("签收人：{by}"))?;
        Ok(())
    }

    /// 指派: the case is given to someone to handle (again, to hand it on); a closed case
    /// is not.
    pub fn assign(&self, id: &str, to: &str, by: &str) -> Result<(), CaseError> {
        let state = self.state_of(id)?;
        if state == "closed" {
            return Err(CaseError::WrongState {
                id: id.into(),
                state,
            });
        }
        self.db().execute(
            "UPDATE alert_case SET assignee = ?2 WHERE alert_id = ?1",
            params![id, to],
        )?;
        self.record(id, "assigned", &format!("{to}（由 {by} 指派）"))?;
        Ok(())
    }

    /// 处置: the case is closed, handled or as a false alarm (which needs its reason in
    /// `note`).
    pub fn close(&self, id: &str, by: &str, note: &str, outcome: Outcome) -> Result<(), CaseError> {
        if outcome == Outcome::FalseAlarm && note.trim().is_empty() {
            return Err(CaseError::NeedsReason);
        }
        let state = self.state_of(id)?;
        if state == "closed" {
            return Err(CaseError::WrongState {
                id: id.into(),
                state,
            });
        }
        let now = Utc::now().to_rfc3339();
        self.db().execute(
            "UPDATE alert_case SET state = 'closed', closed_at = ?2, note = ?3, closed_by = ?4, outcome = ?5 WHERE alert_id = ?1",
            params![id, now, note, by, outcome.as_str()],
        )?;
        self.record(id, "closed", &format!("{}（{by}）：{note}", outcome.zh()))?;
        Ok(())
    }

    /// The most recent cases, newest first, with their deliveries and events.
    pub fn cases(&self, limit: usize) -> rusqlite::Result<Vec<Case>> {
        let ids: Vec<String> = {
            let db = self.db();
            let mut statement =
                db.prepare("SELECT alert_id FROM alert_case ORDER BY raised_at DESC LIMIT ?1")?;
            let rows = statement.query_map([limit as i64], |r| r.get(0))?;
            rows.collect::<Result<_, _>>()?
        };
        ids.iter()
            .filter_map(|id| self.case(id).transpose())
            .collect()
    }

    pub fn case(&self, id: &str) -> rusqlite::Result<Option<Case>> {
        let db = self.db();
        let Some(mut case) = db
            .query_row(
                "SELECT alert_id, rule, title, url, raised_at, state, acknowledged_at, acknowledged_by, closed_at, note, facts, closed_by, outcome, assignee
                 FROM alert_case WHERE alert_id = ?1",
                [id],
                |r| {
                    Ok(Case {
                        alert_id: r.get(0)?,
                        rule: r.get(1)?,
                        title: r.get(2)?,
                        url: r.get(3)?,
                        raised_at: r.get(4)?,
                        state: r.get(5)?,
                        acknowledged_at: r.get(6)?,
                        acknowledged_by: r.get(7)?,
                        closed_at: r.get(8)?,
                        note: r.get(9)?,
                        closed_by: r.get(11)?,
                        outcome: r.get(12)?,
                        assignee: r.get(13)?,
                        facts: r
                            .get::<_, Option<String>>(10)?
                            .and_then(|json| serde_json::from_str(&json).ok())
                            .unwrap_or_default(),
                        deliveries: Vec::new(),
                        events: Vec::new(),
                    })
                },
            )
            .optional()?
        else {
            return Ok(None);
        };
        let mut deliveries = db.prepare(
            "SELECT channel, status, attempts, last_error, delivered_at FROM alert_outbox WHERE alert_id = ?1 ORDER BY channel",
        )?;
        case.deliveries = deliveries
            .query_map([id], |r| {
                Ok(DeliveryRecord {
                    channel: r.get(0)?,
                    status: r.get(1)?,
                    attempts: r.get(2)?,
                    last_error: r.get(3)?,
                    delivered_at: r.get(4)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        let mut events = db.prepare(
            "SELECT at, event, detail FROM alert_event WHERE alert_id = ?1 ORDER BY rowid",
        )?;
        case.events = events
            .query_map([id], |r| {
                Ok(Event {
                    at: r.get(0)?,
                    event: r.get(1)?,
                    detail: r.get(2)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(Some(case))
    }
}

/// A case's state as on-call staff read it.
pub fn state_zh(state: &str) -> &str {
    match state {
        "raised" => "待签收",
        "acknowledged" => "已签收",
        "closed" => "已处置",
        other => other,
    }
}

/// The case log as CSV for the record (台账), one row per alert, headers in Chinese, with
/// a UTF-8 byte-order mark so spreadsheet programs read the Chinese right.
pub fn export_csv(cases: &[Case], out: impl std::io::Write) -> std::io::Result<()> {
    let mut out = out;
    out.write_all("\u{feff}".as_bytes())?;
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record([
        "预警编号",
        "规则",
        "标题",
        "原文链接",
        "预警时间",
        "状态",
        "签收人",
        "签收时间",
        "处置时间",
        "处置说明",
        "投递情况",
    ])?;
    for case in cases {
        let deliveries: Vec<String> = case
            .deliveries
            .iter()
            .map(|d| {
                let status = if d.status == "delivered" {
                    "已送达"
                } else {
                    "待重试"
                };
                format!("{}：{status}（{} 次）", d.channel, d.attempts)
            })
            .collect();
        let cells = [
            case.alert_id.as_str(),
            &case.rule,
            &case.title,
            &case.url,
            &case.raised_at,
            if case.outcome.as_deref() == Some("false_alarm") {
                "误报"
            } else {
                state_zh(&case.state)
            },
            case.acknowledged_by.as_deref().unwrap_or(""),
            case.acknowledged_at.as_deref().unwrap_or(""),
            case.closed_at.as_deref().unwrap_or(""),
            case.note.as_deref().unwrap_or(""),
            &deliveries.join("；"),
        ];
        writer.write_record(cells.map(inert_cell))?;
    }
    writer.flush()
}

/// A cell that a spreadsheet shows as text, never runs as a formula: titles and notes
/// come from crawled pages and from staff, and `=HYPERLINK(…)` or `@SUM(…)` would run
/// when the export is opened in Excel or WPS. Such a cell is prefixed with `'`, as
/// OWASP's advice on CSV injection says.
fn inert_cell(cell: &str) -> String {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r' | '＝' | '＋' | '－' | '＠') => {
            format!("'{cell}")
        }
        _ => cell.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exported_cells_never_start_a_formula() {
        let case = Case {
            alert_id: "a1".into(),
            rule: "+校园".into(),
            title: "=HYPERLINK(\"http://evil.example\",\"点击\")".into(),
            url: "http://news.example/1.html".into(),
            raised_at: "2026-12-08T01:00:00Z".into(),
            state: "closed".into(),
            acknowledged_at: None,
            acknowledged_by: Some("@张老师".into()),
            closed_at: None,
            note: Some("-1 误报".into()),
            closed_by: None,
            outcome: None,
            assignee: None,
            facts: CaseFacts::default(),
            deliveries: Vec::new(),
            events: Vec::new(),
        };
        let mut out = Vec::new();
        export_csv(&[case], &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let mut reader = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
        let row = reader.records().next().unwrap().unwrap();
        assert_eq!(&row[1], "'+校园");
        assert_eq!(&row[2], "'=HYPERLINK(\"http://evil.example\",\"点击\")");
        assert_eq!(&row[3], "http://news.example/1.html");
        assert_eq!(&row[6], "'@张老师");
        assert_eq!(&row[9], "'-1 误报");
        for cell in row.iter() {
            assert!(!cell.starts_with(['=', '+', '-', '@']), "{cell}");
        }
    }
}
