//! The access tables of the state database: users, sessions, API tokens, the audit log and
//! the key that signs 签收 links.
//!
//! | table | holds |
//! | --- | --- |
//! | `desk_user` | name, role, Argon2id hash, disabled, failed logins |
//! | `desk_session` | SHA-256 of each session cookie, its user, when made and last used |
//! | `desk_token` | SHA-256 of each API token, its id, user and label |
//! | `desk_audit` | every change: who, when, what, before and after |
//! | `desk_secret` | the 签收 link key, made once |

use crate::role::Role;
use crate::secret::{self, MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS};
use chrono::{DateTime, Duration, Utc};
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::Serialize;
use serde_json::Value;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS desk_user (
        name TEXT PRIMARY KEY,
        role TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        disabled INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        failed_logins INTEGER NOT NULL DEFAULT 0,
        locked_until TEXT
    );
    CREATE TABLE IF NOT EXISTS desk_session (
        digest TEXT PRIMARY KEY,
        user TEXT NOT NULL,
        created_at TEXT NOT NULL,
        last_seen_at TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS desk_token (
        id TEXT PRIMARY KEY,
        digest TEXT NOT NULL UNIQUE,
        user TEXT NOT NULL,
        label TEXT NOT NULL,
        created_at TEXT NOT NULL,
        last_used_at TEXT
    );
    CREATE TABLE IF NOT EXISTS desk_audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT NOT NULL,
        before TEXT,
        after TEXT
    );
    CREATE TABLE IF NOT EXISTS desk_secret (
        name TEXT PRIMARY KEY,
        value BLOB NOT NULL
    );";

/// Consecutive wrong passwords after which a user's logins are refused for a while.
pub const MAX_FAILED_LOGINS: u32 = 5;
/// How long logins stay refused after [`MAX_FAILED_LOGINS`].
pub const LOCKOUT: Duration = Duration::minutes(5);
/// The longest user name (a person's name or a login).
pub const MAX_NAME_CHARS: usize = 40;

/// How long a login lasts: ended after `idle` without a request, and after `lifespan`
/// whatever happens (Kibana's defaults: 8 hours and 30 days).
#[derive(Debug, Clone, Copy)]
pub struct SessionPolicy {
    pub idle: Duration,
    pub lifespan: Duration,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        SessionPolicy {
            idle: Duration::hours(8),
            lifespan: Duration::days(30),
        }
    }
}

/// A desk user as the API shows one (never the password hash).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct User {
    pub name: String,
    pub role: Role,
    /// The role's Chinese name, for the desk page.
    pub role_zh: &'static str,
    pub disabled: bool,
    pub created_at: String,
    pub updated_at: String,
}

/// Who is making a request, and how they proved it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Identity {
    pub user: String,
    pub role: Role,
    pub via: Via,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Via {
    /// The session cookie of a login.
    Session,
    /// An API token (its id, not its value).
    Token { id: String },
}

/// An API token as lists show it: never its value, which is shown once when made.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TokenInfo {
    pub id: String,
    pub user: String,
    pub label: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
}

/// One change, as the audit log keeps it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// What an update changes about a user; `None` leaves it as it is.
#[derive(Debug, Default, Clone)]
pub struct UserChange {
    pub role: Option<Role>,
    pub disabled: Option<bool>,
    pub password: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error("user name: {0}")]
    BadName(String),
    #[error("password: {0}")]
    BadPassword(String),
    #[error("a user named {0:?} exists already")]
    Exists(String),
    #[error("no user named {0:?}")]
    NoUser(String),
    #[error("no API token with id {0:?}")]
    NoToken(String),
    #[error("wrong user name or password")]
    BadLogin,
    #[error("{MAX_FAILED_LOGINS} wrong passwords in a row for {0:?}: logins refused until {1}")]
    Locked(String, String),
    #[error("{0} would leave the desk without an enabled administrator")]
    LastAdmin(&'static str),
    #[error("access state: {0}")]
    State(#[from] rusqlite::Error),
}

pub struct AccessStore {
    db: Mutex<Connection>,
    policy: SessionPolicy,
}

fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn parse_stamp(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|at| at.with_timezone(&Utc))
}

fn check_name(name: &str) -> Result<(), AccessError> {
    let chars = name.chars().count();
    if chars == 0 || chars > MAX_NAME_CHARS {
        return Err(AccessError::BadName(format!(
            "{name:?} must have 1 to {MAX_NAME_CHARS} characters"
        )));
    }
    if name
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == ':')
    {
        return Err(AccessError::BadName(format!(
            "{name:?} may not hold spaces, control characters or ':'"
        )));
    }
    Ok(())
}

fn check_password(name: &str, password: &str) -> Result<(), AccessError> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(AccessError::BadPassword(format!(
            "at least {MIN_PASSWORD_CHARS} characters (this one has {chars})"
        )));
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(AccessError::BadPassword(format!(
            "at most {MAX_PASSWORD_CHARS} characters"
        )));
    }
    if password.contains(name) {
        return Err(AccessError::BadPassword(
            "may not contain the user name".into(),
        ));
    }
    Ok(())
}

/// A role as the database holds it. One that cannot be read (an edited database) gives
/// the least rights, never more.
fn stored_role(text: &str) -> Role {
    text.parse().unwrap_or(Role::Duty)
}

fn read_user(row: &rusqlite::Row) -> rusqlite::Result<User> {
    let role: String = row.get(1)?;
    let role = stored_role(&role);
    Ok(User {
        name: row.get(0)?,
        role,
        role_zh: role.zh(),
        disabled: row.get(2)?,
        created_at: row.get(3)?,
        updated_at: row.get(4)?,
    })
}

const USER_COLUMNS: &str = "name, role, disabled, created_at, updated_at";

impl AccessStore {
    /// Opens (creating where missing) the access tables in the database at `path`.
    pub fn open(path: &Path, policy: SessionPolicy) -> rusqlite::Result<Self> {
        let db = Connection::open(path)?;
        db.pragma_update(None, "journal_mode", "WAL")?;
        db.busy_timeout(std::time::Duration::from_secs(5))?;
        db.execute_batch(SCHEMA)?;
        Ok(AccessStore {
            db: Mutex::new(db),
            policy,
        })
    }

    /// The connection. Each change is one statement or one transaction, so a panic while
    /// it was held leaves nothing half-done: a poisoned lock is taken as it is.
    fn db(&self) -> MutexGuard<'_, Connection> {
        self.db
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn has_users(&self) -> Result<bool, AccessError> {
        let count: i64 = self
            .db()
            .query_row("SELECT count(*) FROM desk_user", [], |row| row.get(0))?;
        Ok(count > 0)
    }

    pub fn users(&self) -> Result<Vec<User>, AccessError> {
        let db = self.db();
        let mut statement = db.prepare(&format!(
            "SELECT {USER_COLUMNS} FROM desk_user ORDER BY name"
        ))?;
        let users = statement
            .query_map([], read_user)?
            .collect::<rusqlite::Result<_>>()?;
        Ok(users)
    }

    pub fn user(&self, name: &str) -> Result<Option<User>, AccessError> {
        Ok(user_in(&self.db(), name)?)
    }

    /// Adds a user; `actor` is who did it (for the audit log).
    pub fn add_user(
        &self,
        actor: &str,
        name: &str,
        role: Role,
        password: &str,
        now: DateTime<Utc>,
    ) -> Result<User, AccessError> {
        check_name(name)?;
        check_password(name, password)?;
        let hash = secret::hash_password(password);
        let mut db = self.db();
        let tx = db.transaction()?;
        if user_in(&tx, name)?.is_some() {
            return Err(AccessError::Exists(name.into()));
        }
        tx.execute(
            "INSERT INTO desk_user (name, role, password_hash, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?4)",
            params![name, role.as_str(), hash, stamp(now)],
        )?;
        let user = user_in(&tx, name)?.expect("just added");
        audit_in(&tx, now, actor, "user.add", name, None, Some(json(&user)))?;
        tx.commit()?;
        Ok(user)
    }

    /// Changes a user's role, disabled state or password. Disabling a user or changing
    /// their password ends their sessions; their API tokens stop working while disabled.
    pub fn update_user(
        &self,
        actor: &str,
        name: &str,
        change: UserChange,
        now: DateTime<Utc>,
    ) -> Result<User, AccessError> {
        if let Some(password) = &change.password {
            check_password(name, password)?;
        }
        let hash = change.password.as_deref().map(secret::hash_password);
        let mut db = self.db();
        let tx = db.transaction()?;
        let before = user_in(&tx, name)?.ok_or_else(|| AccessError::NoUser(name.into()))?;
        let role = change.role.unwrap_or(before.role);
        let disabled = change.disabled.unwrap_or(before.disabled);
        if before.role == Role::Admin
            && !before.disabled
            && (role != Role::Admin || disabled)
            && enabled_admins(&tx)? == 1
        {
            return Err(AccessError::LastAdmin("this change"));
        }
        tx.execute(
            "UPDATE desk_user SET role = ?2, disabled = ?3, updated_at = ?4 WHERE name = ?1",
            params![name, role.as_str(), disabled, stamp(now)],
        )?;
        if let Some(hash) = &hash {
            tx.execute(
                "UPDATE desk_user SET password_hash = ?2, failed_logins = 0, locked_until = NULL
                 WHERE name = ?1",
                params![name, hash],
            )?;
        }
        if hash.is_some() || disabled {
            tx.execute("DELETE FROM desk_session WHERE user = ?1", [name])?;
        }
        let after = user_in(&tx, name)?.expect("just updated");
        let mut after_json = json(&after);
        if hash.is_some() {
            after_json["password"] = "changed".into();
        }
        audit_in(
            &tx,
            now,
            actor,
            "user.update",
            name,
            Some(json(&before)),
            Some(after_json),
        )?;
        tx.commit()?;
        Ok(after)
    }

    /// A user changing their own password: the current one must be given.
    pub fn change_password(
        &self,
        name: &str,
        current: &str,
        new: &str,
        now: DateTime<Utc>,
    ) -> Result<User, AccessError> {
        let hash: Option<String> = self
            .db()
            .query_row(
                "SELECT password_hash FROM desk_user WHERE name = ?1",
                [name],
                |row| row.get(0),
            )
            .optional()?;
        if current.chars().count() > MAX_PASSWORD_CHARS
            || !hash.is_some_and(|hash| secret::verify_password(current, &hash))
        {
            return Err(AccessError::BadLogin);
        }
        let change = UserChange {
            password: Some(new.to_string()),
            ..UserChange::default()
        };
        self.update_user(name, name, change, now)
    }

    /// Removes a user with their sessions and API tokens.
    pub fn remove_user(
        &self,
        actor: &str,
        name: &str,
        now: DateTime<Utc>,
    ) -> Result<(), AccessError> {
        let mut db = self.db();
        let tx = db.transaction()?;
        let before = user_in(&tx, name)?.ok_or_else(|| AccessError::NoUser(name.into()))?;
        if before.role == Role::Admin && !before.disabled && enabled_admins(&tx)? == 1 {
            return Err(AccessError::LastAdmin("removing this user"));
        }
        tx.execute("DELETE FROM desk_user WHERE name = ?1", [name])?;
        tx.execute("DELETE FROM desk_session WHERE user = ?1", [name])?;
        tx.execute("DELETE FROM desk_token WHERE user = ?1", [name])?;
        audit_in(
            &tx,
            now,
            actor,
            "user.remove",
            name,
            Some(json(&before)),
            None,
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Checks a password and opens a session: the cookie's value, to be sent once and
    /// kept only as its digest. Five wrong passwords in a row refuse logins for five
    /// minutes; a wrong name costs as much time as a wrong password.
    pub fn login(
        &self,
        name: &str,
        password: &str,
        now: DateTime<Utc>,
    ) -> Result<(String, Identity), AccessError> {
        if password.chars().count() > MAX_PASSWORD_CHARS {
            return Err(AccessError::BadLogin);
        }
        let found: Option<(String, String, bool, u32, Option<String>)> = self
            .db()
            .query_row(
                "SELECT role, password_hash, disabled, failed_logins, locked_until
                 FROM desk_user WHERE name = ?1",
                [name],
                |row| {
                    Ok((
                        row.get(0)?,
                        row.get(1)?,
                        row.get(2)?,
                        row.get(3)?,
                        row.get(4)?,
                    ))
                },
            )
            .optional()?;
        let Some((role, hash, disabled, failed, locked_until)) = found else {
            secret::verify_nobody(password);
            self.audit(now, name, "login.failed", name, None, None)?;
            return Err(AccessError::BadLogin);
        };
        if let Some(until) = locked_until.as_deref().and_then(parse_stamp) {
            if until > now {
                return Err(AccessError::Locked(name.into(), stamp(until)));
            }
        }
        // The hash is checked without holding the connection: it takes tens of
        // milliseconds, and other requests need the database meanwhile.
        if disabled || !secret::verify_password(password, &hash) {
            let failed = failed + 1;
            let locked = (failed >= MAX_FAILED_LOGINS).then(|| stamp(now + LOCKOUT));
            let db = self.db();
            db.execute(
                "UPDATE desk_user SET failed_logins = ?2, locked_until = ?3 WHERE name = ?1",
                params![name, if locked.is_some() { 0 } else { failed }, locked],
            )?;
            audit_in(&db, now, name, "login.failed", name, None, None)?;
            return Err(AccessError::BadLogin);
        }
        let cookie = secret::random_hex(32);
        let db = self.db();
        db.execute(
            "UPDATE desk_user SET failed_logins = 0, locked_until = NULL WHERE name = ?1",
            [name],
        )?;
        db.execute(
            "INSERT INTO desk_session (digest, user, created_at, last_seen_at) VALUES (?1, ?2, ?3, ?3)",
            params![secret::digest(&cookie), name, stamp(now)],
        )?;
        // Sessions past their lifespan are cleared here, where one is made.
        db.execute(
            "DELETE FROM desk_session WHERE created_at < ?1",
            [stamp(now - self.policy.lifespan)],
        )?;
        audit_in(&db, now, name, "login", name, None, None)?;
        Ok((
            cookie,
            Identity {
                user: name.into(),
                role: stored_role(&role),
                via: Via::Session,
            },
        ))
    }

    /// Who a session cookie belongs to, if its session is open, unexpired and its user
    /// enabled. Use keeps it open (refreshed at most once a minute).
    pub fn session(
        &self,
        cookie: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Identity>, AccessError> {
        let digest = secret::digest(cookie);
        let db = self.db();
        let found: Option<(String, String, String, String, bool)> = db
            .query_row(
                "SELECT s.user, u.role, s.created_at, s.last_seen_at, u.disabled
                 FROM desk_session s JOIN desk_user u ON u.name = s.user WHERE s.digest = ?1",
                [&digest],
                |row| {
                    Ok((
                        row.get(0)?,
                        row.get(1)?,
                        row.get(2)?,
                        row.get(3)?,
                        row.get(4)?,
                    ))
                },
            )
            .optional()?;
        let Some((user, role, created, last_seen, disabled)) = found else {
            return Ok(None);
        };
        let (Some(created), Some(last_seen)) = (parse_stamp(&created), parse_stamp(&last_seen))
        else {
            return Ok(None);
        };
        if disabled || now - last_seen > self.policy.idle || now - created > self.policy.lifespan {
            // Ended either way; removing it is tidying up.
            note_failed_touch(db.execute("DELETE FROM desk_session WHERE digest = ?1", [&digest]));
            return Ok(None);
        }
        if now - last_seen > Duration::minutes(1) {
            // Bookkeeping only: a login still works while the disk refuses the write.
            note_failed_touch(db.execute(
                "UPDATE desk_session SET last_seen_at = ?2 WHERE digest = ?1",
                params![digest, stamp(now)],
            ));
        }
        Ok(Some(Identity {
            user,
            role: stored_role(&role),
            via: Via::Session,
        }))
    }

    /// Ends the session of a cookie (logging out).
    pub fn logout(&self, cookie: &str) -> Result<(), AccessError> {
        self.db().execute(
            "DELETE FROM desk_session WHERE digest = ?1",
            [secret::digest(cookie)],
        )?;
        Ok(())
    }

    /// Makes an API token acting as `user` (with that user's role, as it is at each
    /// request). Returns its value, which is shown once: only its digest is kept.
    pub fn add_token(
        &self,
        actor: &str,
        user: &str,
        label: &str,
        now: DateTime<Utc>,
    ) -> Result<(TokenInfo, String), AccessError> {
        let label: String = label.trim().chars().take(80).collect();
        let id = secret::random_hex(4);
        let value = format!("yqt_{id}_{}", secret::random_hex(32));
        let mut db = self.db();
        let tx = db.transaction()?;
        if user_in(&tx, user)?.is_none() {
            return Err(AccessError::NoUser(user.into()));
        }
        tx.execute(
            "INSERT INTO desk_token (id, digest, user, label, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![id, secret::digest(&value), user, label, stamp(now)],
        )?;
        let info = token_in(&tx, &id)?.expect("just added");
        audit_in(&tx, now, actor, "token.add", &id, None, Some(json(&info)))?;
        tx.commit()?;
        Ok((info, value))
    }

    /// The API tokens, of one user or of all.
    pub fn tokens(&self, user: Option<&str>) -> Result<Vec<TokenInfo>, AccessError> {
        let db = self.db();
        let mut statement = db.prepare(
            "SELECT id, user, label, created_at, last_used_at FROM desk_token
             WHERE ?1 IS NULL OR user = ?1 ORDER BY created_at, id",
        )?;
        let tokens = statement
            .query_map([user], read_token)?
            .collect::<rusqlite::Result<_>>()?;
        Ok(tokens)
    }

    pub fn token_info(&self, id: &str) -> Result<Option<TokenInfo>, AccessError> {
        Ok(token_in(&self.db(), id)?)
    }

    pub fn revoke_token(
        &self,
        actor: &str,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<(), AccessError> {
        let mut db = self.db();
        let tx = db.transaction()?;
        let before = token_in(&tx, id)?.ok_or_else(|| AccessError::NoToken(id.into()))?;
        tx.execute("DELETE FROM desk_token WHERE id = ?1", [id])?;
        audit_in(
            &tx,
            now,
            actor,
            "token.revoke",
            id,
            Some(json(&before)),
            None,
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Who an API token acts for, if it exists and its user is enabled.
    pub fn token(&self, value: &str, now: DateTime<Utc>) -> Result<Option<Identity>, AccessError> {
        let db = self.db();
        let found: Option<(String, String, String, Option<String>)> = db
            .query_row(
                "SELECT t.id, t.user, u.role, t.last_used_at FROM desk_token t
                 JOIN desk_user u ON u.name = t.user WHERE t.digest = ?1 AND u.disabled = 0",
                [secret::digest(value)],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
            )
            .optional()?;
        let Some((id, user, role, last_used)) = found else {
            return Ok(None);
        };
        let stale = last_used
            .as_deref()
            .and_then(parse_stamp)
            .is_none_or(|at| now - at > Duration::minutes(1));
        if stale {
            note_failed_touch(db.execute(
                "UPDATE desk_token SET last_used_at = ?2 WHERE id = ?1",
                params![id, stamp(now)],
            ));
        }
        Ok(Some(Identity {
            user,
            role: stored_role(&role),
            via: Via::Token { id },
        }))
    }

    /// Records a change made elsewhere (an alert rule, an alert's handling).
    pub fn audit(
        &self,
        now: DateTime<Utc>,
        actor: &str,
        action: &str,
        target: &str,
        before: Option<Value>,
        after: Option<Value>,
    ) -> Result<(), AccessError> {
        audit_in(&self.db(), now, actor, action, target, before, after)?;
        Ok(())
    }

    /// The audit log, newest first: at most `limit` entries older than entry `before_id`.
    pub fn audit_log(
        &self,
        limit: usize,
        before_id: Option<i64>,
    ) -> Result<Vec<AuditEntry>, AccessError> {
        let db = self.db();
        let mut statement = db.prepare(
            "SELECT id, at, actor, action, target, before, after FROM desk_audit
             WHERE ?1 IS NULL OR id < ?1 ORDER BY id DESC LIMIT ?2",
        )?;
        let entries = statement
            .query_map(params![before_id, limit as i64], |row| {
                let value = |text: Option<String>| text.and_then(|t| serde_json::from_str(&t).ok());
                Ok(AuditEntry {
                    id: row.get(0)?,
                    at: row.get(1)?,
                    actor: row.get(2)?,
                    action: row.get(3)?,
                    target: row.get(4)?,
                    before: value(row.get(5)?),
                    after: value(row.get(6)?),
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(entries)
    }

    /// The key that signs 签收 links, made at random the first time it is asked for and
    /// kept in the state database, so links stay valid across restarts.
    pub fn link_key(&self) -> Result<[u8; 32], AccessError> {
        let db = self.db();
        let fresh = hex::decode(secret::random_hex(32)).expect("hex of random bytes");
        db.execute(
            "INSERT OR IGNORE INTO desk_secret (name, value) VALUES ('ack_link_key', ?1)",
            [&fresh],
        )?;
        let key: Vec<u8> = db.query_row(
            "SELECT value FROM desk_secret WHERE name = 'ack_link_key'",
            [],
            |row| row.get(0),
        )?;
        Ok(key.try_into().unwrap_or_else(|_| {
            tracing::error!(
                "the 签收 link key in the state database is not 32 bytes; using a fresh one"
            );
            fresh.try_into().expect("32 random bytes")
        }))
    }
}

fn json(value: &impl Serialize) -> Value {
    serde_json::to_value(value).expect("access records serialize infallibly")
}

fn user_in(db: &Connection, name: &str) -> rusqlite::Result<Option<User>> {
    db.query_row(
        &format!("SELECT {USER_COLUMNS} FROM desk_user WHERE name = ?1"),
        [name],
        read_user,
    )
    .optional()
}

fn enabled_admins(tx: &Transaction) -> rusqlite::Result<i64> {
    tx.query_row(
        "SELECT count(*) FROM desk_user WHERE role = 'admin' AND disabled = 0",
        [],
        |row| row.get(0),
    )
}

fn read_token(row: &rusqlite::Row) -> rusqlite::Result<TokenInfo> {
    Ok(TokenInfo {
        id: row.get(0)?,
        user: row.get(1)?,
        label: row.get(2)?,
        created_at: row.get(3)?,
        last_used_at: row.get(4)?,
    })
}

fn token_in(db: &Connection, id: &str) -> rusqlite::Result<Option<TokenInfo>> {
    db.query_row(
        "SELECT id, user, label, created_at, last_used_at FROM desk_token WHERE id = ?1",
        [id],
        read_token,
    )
    .optional()
}

fn audit_in(
    db: &Connection,
    now: DateTime<Utc>,
    actor: &str,
    action: &str,
    target: &str,
    before: Option<Value>,
    after: Option<Value>,
) -> rusqlite::Result<()> {
    db.execute(
        "INSERT INTO desk_audit (at, actor, action, target, before, after) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            stamp(now),
            actor,
            action,
            target,
            before.map(|v| v.to_string()),
            after.map(|v| v.to_string())
        ],
    )?;
    Ok(())
}

/// A "last seen" stamp that could not be written (a full disk): logged, and the request
/// goes on, since the desk must answer on-call staff while the disk is full.
fn note_failed_touch(written: rusqlite::Result<usize>) {
    if let Err(error) = written {
        tracing::warn!(%error, "desk access: last-use time not recorded");
    }
}
