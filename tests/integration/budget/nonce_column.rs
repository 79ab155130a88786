//! The README's nonce column against each operation's declared placement.

use super::*;

/// The README's nonce column says, for every function, where it records its nonce, as the code
/// declares it (`Operation::NONCE`; `signing.rs` checks the requests match).
#[tokio::test]
async fn the_readme_says_where_each_change_records_its_nonce() {
    let readme = include_str!("../../../README.md");
    let documented: HashMap<&str, &str> = readme
        .split("## Endpoints")
        .nth(1)
        .expect("README has an Endpoints section")
        .lines()
        .filter(|line| line.starts_with("| `"))
        .map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            (cells[2].trim_matches('`'), cells[4])
        })
        .collect();
    let router = local_api::router::all();
    let access: HashMap<_, _> = router.paths().into_iter().collect();
    let signed: std::collections::HashSet<&str> = router
        .functions()
        .into_iter()
        .filter(|(path, _)| access[path] == Access::Signed)
        .map(|(_, function)| function)
        .collect();
    for (path, function) in router.functions() {
        let expected = match (access[path], router.nonce_placement(path)) {
            // A Server API operation run for the console (`Operation::CONSOLE_PATHS`): its row
            // is the signed route's.
            (Access::Console, _) if signed.contains(function) => continue,
            (Access::Console, _) => "—",
            (Access::Signed, None) => "none (a read)",
            (Access::Signed, Some(Placement::BesideAppCheck)) => "beside the app check",
            (Access::Signed, Some(Placement::InFirstTransaction)) => "in the first transaction",
        };
        assert_eq!(
            documented.get(function),
            Some(&expected),
            "{function} ({path})"
        );
    }
}
