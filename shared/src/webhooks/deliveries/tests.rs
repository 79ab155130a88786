use super::*;

#[test]
fn error_texts_are_cut_at_a_character_boundary() {
    let mut short = "refused".to_owned();
    truncate_at_char(&mut short, 10);
    assert_eq!(short, "refused");
    let mut long = "é".repeat(400);
    truncate_at_char(&mut long, MAX_ERROR_BYTES);
    assert!(
        long.len() <= MAX_ERROR_BYTES && long.ends_with('…'),
        "{}",
        long.len()
    );
}

#[test]
fn the_log_keeps_a_week_of_hours_and_one_more() {
    let now = 1_764_000_000_000;
    let first = first_kept_hour(now);
    assert_eq!(now.div_euclid(WEBHOOK_HOUR_MS) - first, 7 * 24 + 1);
}
