//! The documentation: the Zoom action reference is generated from the
//! manifest, and this keeps the two in step (regenerate with
//! `soar-host actions zoom --markdown` between the markers of
//! `docs/reference/zoom-actions.md`); the README stays short, and every
//! relative link in it and in `docs/` points to a file that exists.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("cli/ sits in the workspace")
        .to_path_buf()
}

#[test]
fn action_reference_matches_the_manifest() {
    let run = crate::common::run_cli(&["actions", "zoom", "--markdown"], &[]);
    assert_eq!(run.code, 0, "{run:?}");
    let reference = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/reference/zoom-actions.md"
    ))
    .expect("docs/reference/zoom-actions.md");
    let start = reference
        .find("<!-- actions:start -->\n")
        .expect("start marker")
        + "<!-- actions:start -->\n".len();
    let end = reference.find("<!-- actions:end -->").expect("end marker");
    assert_eq!(
        &reference[start..end],
        run.stdout,
        "docs/reference/zoom-actions.md is stale: regenerate it with \
         `soar-host actions zoom --markdown` into docs/reference/zoom-actions.md, between its markers"
    );
}

/// The targets of the Markdown links `](target)` in `text` that point to a
/// file of this repository: under `docs/`, or ending in `.md` (an
/// `#anchor` stripped). External links and bare anchors are left out.
fn local_links(text: &str) -> Vec<String> {
    let mut links = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("](") {
        rest = &rest[at + 2..];
        let Some(close) = rest.find(')') else { break };
        let target = rest[..close].split('#').next().unwrap_or("").trim();
        if target.is_empty() || target.contains("://") || target.starts_with("mailto:") {
            continue;
        }
        if target.starts_with("docs/") || target.ends_with(".md") {
            links.push(target.to_string());
        }
    }
    links
}

#[test]
fn readme_is_short_and_doc_links_resolve() {
    let root = root();
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let lines = readme.lines().count();
    assert!(
        lines <= 250,
        "README.md has {lines} lines, at most 250: move the detail into docs/"
    );

    let mut files = vec![root.join("README.md")];
    for dir in ["docs", "docs/reference"] {
        let mut pages: Vec<PathBuf> = std::fs::read_dir(root.join(dir))
            .unwrap_or_else(|e| panic!("{dir}: {e}"))
            .map(|entry| entry.expect("a directory entry").path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
            .collect();
        pages.sort();
        files.extend(pages);
    }

    let mut broken = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("a Markdown file");
        let dir = file.parent().expect("a file's directory");
        for link in local_links(&text) {
            if !dir.join(&link).exists() {
                let name = file.strip_prefix(&root).unwrap_or(file);
                broken.push(format!("{}: {link}", name.display()));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "links to files that do not exist:\n{}",
        broken.join("\n")
    );
    assert!(
        files.len() > 5,
        "the documentation pages were found: {files:?}"
    );
}

#[test]
fn local_links_are_found() {
    let text = "see [a](docs/a.md#x), [b](../b.md), [c](https://x.y/c.md), [d](#d), [e](docs/)";
    assert_eq!(local_links(text), ["docs/a.md", "../b.md", "docs/"]);
}
