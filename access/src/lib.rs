//! Who may use the desk, and what each may do: users with one of three roles, logins
//! kept as session cookies, API tokens for scripts, the signed 签收 links of alert
//! messages, and the audit log of every change. Everything lives in the state database
//! (SQLite); the desk asks this crate who a request is from and records what it changed.
//!
//! | module | holds |
//! | --- | --- |
//! | [`role`] | [`Role`]: 值班员 < 分析员 < 管理员 |
//! | [`secret`] | Argon2id password hashes, random values kept as digests, [`AlertLinks`] |
//! | [`store`] | [`AccessStore`]: users, sessions, tokens, audit log, the link key |

pub mod role;
pub mod secret;
pub mod store;

pub use role::Role;
pub use secret::{AlertLinks, LinkError, MIN_PASSWORD_CHARS};
pub use store::{
    AccessError, AccessStore, AuditEntry, Identity, SessionPolicy, TokenInfo, User, UserChange, Via,
};

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, Utc};

    const PASSWORD: &str = "correct horse battery";

    fn store() -> (tempfile::TempDir, AccessStore) {
        let dir = tempfile::tempdir().unwrap();
        let store =
            AccessStore::open(&dir.path().join("state.sqlite"), SessionPolicy::default()).unwrap();
        (dir, store)
    }

    #[test]
    fn a_login_opens_a_session_that_idles_out_and_ends_at_logout() {
        let (_dir, store) = store();
        let now = Utc::now();
        assert!(!store.has_users().unwrap());
        store
            .add_user("cli", "张三", Role::Duty, PASSWORD, now)
            .unwrap();
        assert!(store.has_users().unwrap());
        let (cookie, identity) = store.login("张三", PASSWORD, now).unwrap();
        assert_eq!(identity.role, Role::Duty);
        assert_eq!(
            store
                .session(&cookie, now + Duration::hours(7))
                .unwrap()
                .unwrap()
                .user,
            "张三"
        );
        // Idle for longer than 8 hours after the last use: closed.
        assert_eq!(
            store.session(&cookie, now + Duration::hours(16)).unwrap(),
            None
        );
        let (cookie, _) = store.login("张三", PASSWORD, now).unwrap();
        store.logout(&cookie).unwrap();
        assert_eq!(store.session(&cookie, now).unwrap(), None);
        assert_eq!(store.session("forged", now).unwrap(), None);
    }

    #[test]
    fn wrong_passwords_lock_the_user_out_for_a_while() {
        let (_dir, store) = store();
        let now = Utc::now();
        store
            .add_user("cli", "李四", Role::Analyst, PASSWORD, now)
            .unwrap();
        assert!(matches!(
            store.login("王五", PASSWORD, now),
            Err(AccessError::BadLogin)
        ));
        for _ in 0..5 {
            assert!(matches!(
                store.login("李四", "wrong password", now),
                Err(AccessError::BadLogin)
            ));
        }
        // Even the right password is refused during the lockout, and works after it.
        assert!(matches!(
            store.login("李四", PASSWORD, now),
            Err(AccessError::Locked(..))
        ));
        assert!(store
            .login("李四", PASSWORD, now + Duration::minutes(6))
            .is_ok());
    }

    #[test]
    fn weak_passwords_and_bad_names_are_refused_with_the_reason() {
        let (_dir, store) = store();
        let now = Utc::now();
        let short = store
            .add_user("cli", "a", Role::Duty, "short", now)
            .unwrap_err();
        assert!(
            short.to_string().contains("at least 10 characters"),
            "{short}"
        );
        let named = store
            .add_user("cli", "zhangsan", Role::Duty, "zhangsan123", now)
            .unwrap_err();
        assert!(named.to_string().contains("user name"), "{named}");
        let spaced = store
            .add_user("cli", "张 三", Role::Duty, PASSWORD, now)
            .unwrap_err();
        assert!(matches!(spaced, AccessError::BadName(_)), "{spaced}");
        store
            .add_user("cli", "张三", Role::Duty, PASSWORD, now)
            .unwrap();
        assert!(matches!(
            store.add_user("cli", "张三", Role::Duty, PASSWORD, now),
            Err(AccessError::Exists(_))
        ));
    }

    #[test]
    fn a_token_acts_with_its_users_current_role_until_revoked_or_disabled() {
        let (_dir, store) = store();
        let now = Utc::now();
        store
            .add_user("cli", "admin", Role::Admin, PASSWORD, now)
            .unwrap();
        store
            .add_user("admin", "脚本", Role::Duty, PASSWORD, now)
            .unwrap();
        let (info, value) = store.add_token("admin", "脚本", "每日导出", now).unwrap();
        assert!(value.starts_with(&format!("yqt_{}_", info.id)));
        let identity = store.token(&value, now).unwrap().unwrap();
        assert_eq!(
            (identity.user.as_str(), identity.role),
            ("脚本", Role::Duty)
        );
        let promote = UserChange {
            role: Some(Role::Analyst),
            ..UserChange::default()
        };
        store.update_user("admin", "脚本", promote, now).unwrap();
        assert_eq!(
            store.token(&value, now).unwrap().unwrap().role,
            Role::Analyst
        );
        let disable = UserChange {
            disabled: Some(true),
            ..UserChange::default()
        };
        store.update_user("admin", "脚本", disable, now).unwrap();
        assert_eq!(store.token(&value, now).unwrap(), None);
        let enable = UserChange {
            disabled: Some(false),
            ..UserChange::default()
        };
        store.update_user("admin", "脚本", enable, now).unwrap();
        store.revoke_token("admin", &info.id, now).unwrap();
        assert_eq!(store.token(&value, now).unwrap(), None);
        // The value itself is nowhere in the database.
        let (other, value) = store.add_token("admin", "脚本", "", now).unwrap();
        assert_eq!(store.tokens(Some("脚本")).unwrap(), vec![other]);
        drop(store);
        let bytes = std::fs::read(_dir.path().join("state.sqlite")).unwrap();
        let wal = std::fs::read(_dir.path().join("state.sqlite-wal")).unwrap_or_default();
        for file in [bytes, wal] {
            assert!(!file.windows(value.len()).any(|w| w == value.as_bytes()));
        }
    }

    #[test]
    fn the_last_administrator_cannot_be_removed_disabled_or_demoted() {
        let (_dir, store) = store();
        let now = Utc::now();
        store
            .add_user("cli", "admin", Role::Admin, PASSWORD, now)
            .unwrap();
        let demote = UserChange {
            role: Some(Role::Duty),
            ..UserChange::default()
        };
        assert!(matches!(
            store.update_user("admin", "admin", demote.clone(), now),
            Err(AccessError::LastAdmin(_))
        ));
        assert!(matches!(
            store.remove_user("admin", "admin", now),
            Err(AccessError::LastAdmin(_))
        ));
        store
            .add_user("admin", "admin2", Role::Admin, PASSWORD, now)
            .unwrap();
        store.update_user("admin2", "admin", demote, now).unwrap();
    }

    #[test]
    fn every_change_is_in_the_audit_log_with_who_and_before_and_after() {
        let (_dir, store) = store();
        let now = Utc::now();
        store
            .add_user("cli", "admin", Role::Admin, PASSWORD, now)
            .unwrap();
        store
            .add_user("admin", "张三", Role::Duty, PASSWORD, now)
            .unwrap();
        let change = UserChange {
            role: Some(Role::Analyst),
            password: Some("another long password".into()),
            ..UserChange::default()
        };
        store.update_user("admin", "张三", change, now).unwrap();
        store
            .audit(
                now,
                "张三",
                "rule.put",
                "食堂预警",
                None,
                Some(serde_json::json!({"query": "腹泻"})),
            )
            .unwrap();
        let log = store.audit_log(10, None).unwrap();
        let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions, ["rule.put", "user.update", "user.add", "user.add"]);
        let update = &log[1];
        assert_eq!(
            (update.actor.as_str(), update.target.as_str()),
            ("admin", "张三")
        );
        assert_eq!(update.before.as_ref().unwrap()["role"], "duty");
        assert_eq!(update.after.as_ref().unwrap()["role"], "analyst");
        assert_eq!(update.after.as_ref().unwrap()["password"], "changed");
        assert!(!serde_json::to_string(&log).unwrap().contains("argon2"));
        assert_eq!(store.audit_log(10, Some(log[1].id)).unwrap().len(), 2);
    }

    #[test]
    fn the_link_key_is_made_once_and_kept() {
        let (dir, store) = store();
        let key = store.link_key().unwrap();
        assert_eq!(store.link_key().unwrap(), key);
        drop(store);
        let again =
            AccessStore::open(&dir.path().join("state.sqlite"), SessionPolicy::default()).unwrap();
        assert_eq!(again.link_key().unwrap(), key);
    }
}
