use clap::Subcommand;
use serde_json::json;
use soar_host::HostOptions;
use soar_host::manifest::ActionKind;
use soar_host_service::{self as service, Db, tokens};

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create an API token for the service; it is printed once and only its hash is kept
    Create {
        /// Who uses it (a playbook engine, a person); recorded with every run it makes
        name: String,
        /// Limit it to this resource (repeatable); default: every resource
        #[arg(long = "resource", value_name = "NAME")]
        resources: Vec<String>,
        /// Limit it to this kind of action (repeatable): enrichment or containment; default: both
        #[arg(long = "kind", value_name = "KIND", value_parser = parse_kind)]
        kinds: Vec<ActionKind>,
        /// Limit its playbook rights (repeatable): playbooks:read (see playbooks and runs) or
        /// playbooks:run (also start, rerun, cancel); default: both
        #[arg(long = "scope", value_name = "SCOPE", value_parser = parse_scope)]
        scopes: Vec<tokens::Scope>,
        /// Read only: may see everything its resources allow (executions, events, playbooks and
        /// their runs, connectivity tests) and change nothing: no action runs, no playbook starts,
        /// no edits in the console
        #[arg(long)]
        read_only: bool,
    },
    /// List tokens (names and limits, never the tokens)
    List {
        /// As JSON
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token by name: the service refuses it from its next request
    Revoke { name: String },
}

fn parse_scope(text: &str) -> Result<tokens::Scope, String> {
    tokens::Scope::parse(text)
        .ok_or_else(|| "playbooks:read, playbooks:run or read-only".to_owned())
}

fn parse_kind(text: &str) -> Result<ActionKind, String> {
    tokens::parse_kind(text).ok_or_else(|| "enrichment or containment".to_owned())
}

pub fn run(host_options: &HostOptions, args: Args) -> i32 {
    let db = match service::state_dir(host_options).and_then(|dir| Ok(Db::open(&dir)?)) {
        Ok(db) => db,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let outcome = match args.command {
        Command::Create {
            name,
            resources,
            kinds,
            mut scopes,
            read_only,
        } => {
            if read_only {
                scopes.push(tokens::Scope::ReadOnly);
            }
            tokens::create(&db, &name, resources, kinds, scopes).map(|created| {
            println!("{}", created.token);
            eprintln!(
                "token `{name}` created: keep it now, it is not shown again. Use it as `Authorization: Bearer <token>`."
            );
        })
        }
        Command::List { json } => db.tokens().map_err(String::from).map(|rows| {
            if json {
                let rows: Vec<_> = rows
                    .iter()
                    .map(|t| {
                        json!({
                            "name": t.name,
                            "resources": t.resources,
                            "kinds": t.kinds,
                            "scopes": t.scopes,
                            "created_ms": t.created_ms,
                            "revoked": t.revoked_ms.is_some(),
                        })
                    })
                    .collect();
                println!("{}", serde_json::Value::from(rows));
                return;
            }
            if rows.is_empty() {
                println!("no tokens; create one with `soar-host token create NAME`");
            }
            let all = |list: &[String]| {
                if list.is_empty() {
                    "all".to_owned()
                } else {
                    list.join(",")
                }
            };
            for t in rows {
                println!(
                    "{}\tresources={}\tkinds={}\tscopes={}{}",
                    t.name,
                    all(&t.resources),
                    all(&t.kinds),
                    all(&t.scopes),
                    if t.revoked_ms.is_some() {
                        "\trevoked"
                    } else {
                        ""
                    }
                );
            }
        }),
        Command::Revoke { name } => match db.revoke_token(&name) {
            Ok(true) => {
                eprintln!("token `{name}` revoked");
                Ok(())
            }
            Ok(false) => Err(format!("no live token named `{name}`")),
            Err(e) => Err(e.into()),
        },
    };
    match outcome {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {}", soar_host::redact::printable(&e));
            2
        }
    }
}
