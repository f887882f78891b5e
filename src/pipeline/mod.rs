//! The synchronous core: normalize -> classify -> policy -> verdict. Nothing here is async or does
//! I/O; `now` comes in, a decision goes out (STYLE.md §5).

pub mod classify;
pub mod normalize;
pub mod policy;
pub mod screen;
pub mod segments;
pub mod verdict;
