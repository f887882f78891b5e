//! Sending windows in subscriber time (Asia/Shanghai): marketing 08:00–21:00 (platform practice),
//! debt collection 08:00–22:00 (CBA collection guideline, RULES.md). Outside: HOLD until the window
//! opens again.

use jiff::Timestamp;

use crate::domain::Category;
use crate::pipeline::policy::{DailyWindow, PolicyConfig};
use crate::pipeline::verdict::Finding;
use crate::proto::ReasonCode;

/// Local seconds since the epoch in the policy time zone (Asia/Shanghai has no DST since 1991, but the
/// zone is configuration, so the offset is looked up, not assumed).
pub fn local_seconds(now: Timestamp, cfg: &PolicyConfig) -> i64 {
    now.as_second() + i64::from(cfg.timezone.to_offset(now).seconds())
}

/// The calendar day number in the policy time zone (for per-day caps).
pub fn local_day(now: Timestamp, cfg: &PolicyConfig) -> i64 {
    local_seconds(now, cfg).div_euclid(86_400)
}

pub fn check_quiet_hours(
    category: Category,
    now: Timestamp,
    cfg: &PolicyConfig,
) -> Option<Finding> {
    let window = if cfg.commercial.contains(category) {
        cfg.marketing_window
    } else if category == Category::Collection {
        cfg.collection_window
    } else {
        return None;
    };
    let local = local_seconds(now, cfg);
    let second_of_day = local.rem_euclid(86_400);
    let start = i64::from(window.start_minute) * 60;
    let end = i64::from(window.end_minute) * 60;
    if (start..end).contains(&second_of_day) {
        return None;
    }
    let wait = if second_of_day < start {
        start - second_of_day
    } else {
        86_400 - second_of_day + start
    };
    let until = Timestamp::from_second(now.as_second() + wait).unwrap_or(now);
    Some(Finding::hold(
        ReasonCode::ReasonQuietHours,
        until,
        format!("{} is sent {} only", category.as_str(), describe(window)),
    ))
}

fn describe(w: DailyWindow) -> String {
    format!(
        "{:02}:{:02}-{:02}:{:02}",
        w.start_minute / 60,
        w.start_minute % 60,
        w.end_minute / 60,
        w.end_minute % 60
    )
}
