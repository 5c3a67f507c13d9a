//! The README's action reference is generated from the manifest; this keeps
//! the two in step. Regenerate with:
//! `soar-host actions zoom --markdown` between the README's markers.

#[test]
fn readme_action_reference_matches_the_manifest() {
    let run = crate::common::run_cli(&["actions", "zoom", "--markdown"], &[]);
    assert_eq!(run.code, 0, "{run:?}");
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("README.md");
    let start = readme
        .find("<!-- actions:start -->\n")
        .expect("start marker")
        + "<!-- actions:start -->\n".len();
    let end = readme.find("<!-- actions:end -->").expect("end marker");
    assert_eq!(
        &readme[start..end],
        run.stdout,
        "README.md's action reference is stale: regenerate it with `soar-host actions zoom --markdown`"
    );
}
