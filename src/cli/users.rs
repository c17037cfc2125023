//! `yuqing user …` and `yuqing token …`: the desk's users and API tokens, managed on the
//! machine that holds the state database. The first administrator is made here: the
//! desk never has a default password.

use crate::config::Config;
use crate::run::{DataDir, DeskAccess};
use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use std::io::{BufRead, IsTerminal};
use yuqing_access::{Role, UserChange};

#[derive(Subcommand)]
pub enum UserCommand {
    /// Add a user: `yuqing user add 张三 --role duty` (duty 值班员, analyst 分析员, admin
    /// 管理员). The password is asked for, or read from the first line of stdin.
    Add {
        name: String,
        #[arg(long)]
        role: Role,
    },
    /// List the users with their roles.
    List,
    /// Set a new password (asked for, or read from stdin); the user's sessions end.
    Passwd { name: String },
    /// Change a user's role, or disable (enable) them; a disabled user's sessions end
    /// and their API tokens stop working.
    Set(SetArgs),
    /// Remove a user with their sessions and API tokens.
    Remove { name: String },
}

#[derive(Args)]
pub struct SetArgs {
    name: String,
    #[arg(long)]
    role: Option<Role>,
    #[arg(long, conflicts_with = "enable")]
    disable: bool,
    #[arg(long)]
    enable: bool,
}

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Make an API token acting as a user, for scripts: printed once, kept only as a
    /// digest. Send it as `Authorization: Bearer TOKEN`.
    Add {
        #[arg(long)]
        user: String,
        /// What the token is for (shown in lists).
        #[arg(long, default_value = "")]
        label: String,
    },
    /// List the API tokens (never their values).
    List,
    /// Revoke an API token by its id.
    Revoke { id: String },
}

/// Who the audit log says made a change from the command line.
fn actor() -> String {
    match std::env::var("USER") {
        Ok(user) if !user.is_empty() => format!("cli:{user}"),
        _ => "cli".into(),
    }
}

fn open(config: &Config, data: &DataDir) -> anyhow::Result<DeskAccess> {
    data.create()?;
    DeskAccess::open(config, data)
}

/// A password typed twice at a terminal (not echoed), or the first line of stdin.
fn read_password() -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("password: ").context("reading the password")?;
        let again = rpassword::prompt_password("again: ").context("reading the password")?;
        if first != again {
            bail!("the two passwords differ");
        }
        return Ok(first);
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from stdin")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

pub fn run_user(config: &Config, data: &DataDir, command: UserCommand) -> anyhow::Result<()> {
    let access = open(config, data)?;
    let store = &access.store;
    let now = chrono::Utc::now();
    match command {
        UserCommand::Add { name, role } => {
            let password = read_password()?;
            let user = store.add_user(&actor(), &name, role, &password, now)?;
            println!("added {} ({} {})", user.name, user.role, user.role.zh());
        }
        UserCommand::List => {
            for user in store.users()? {
                let state = if user.disabled { "  disabled" } else { "" };
                println!("{}\t{} {}{state}", user.name, user.role, user.role.zh());
            }
        }
        UserCommand::Passwd { name } => {
            let password = read_password()?;
            let change = UserChange {
                password: Some(password),
                ..UserChange::default()
            };
            store.update_user(&actor(), &name, change, now)?;
            println!("password of {name} changed; their sessions have ended");
        }
        UserCommand::Set(args) => {
            let disabled = match (args.disable, args.enable) {
                (true, _) => Some(true),
                (_, true) => Some(false),
                _ => None,
            };
            if args.role.is_none() && disabled.is_none() {
                bail!("nothing to change: give --role, --disable or --enable");
            }
            let change = UserChange {
                role: args.role,
                disabled,
                password: None,
            };
            let user = store.update_user(&actor(), &args.name, change, now)?;
            let state = if user.disabled { ", disabled" } else { "" };
            println!("{}: {} {}{state}", user.name, user.role, user.role.zh());
        }
        UserCommand::Remove { name } => {
            store.remove_user(&actor(), &name, now)?;
            println!("removed {name}");
        }
    }
    Ok(())
}

pub fn run_token(config: &Config, data: &DataDir, command: TokenCommand) -> anyhow::Result<()> {
    let access = open(config, data)?;
    let store = &access.store;
    let now = chrono::Utc::now();
    match command {
        TokenCommand::Add { user, label } => {
            let (_, value) = store.add_token(&actor(), &user, &label, now)?;
            // The value alone on stdout, for `TOKEN=$(yuqing token add …)`.
            println!("{value}");
        }
        TokenCommand::List => {
            for token in store.tokens(None)? {
                println!(
                    "{}\t{}\t{}\tmade {}\tlast used {}",
                    token.id,
                    token.user,
                    token.label,
                    token.created_at,
                    token.last_used_at.as_deref().unwrap_or("never")
                );
            }
        }
        TokenCommand::Revoke { id } => {
            store.revoke_token(&actor(), &id, now)?;
            println!("revoked {id}");
        }
    }
    Ok(())
}
