//! Operators' corrections (Operations.Feedback) as training examples. Not in this version: the
//! daemon does not store corrections yet (Operations.Feedback answers UNIMPLEMENTED), so
//! `train --feedback` says so instead of training without them.

use std::path::Path;

use super::Example;

pub fn load(_data_dir: Option<&Path>, _target: Option<&str>) -> Result<Vec<Example>, String> {
    Err(
        "--feedback: operator corrections are not stored in this version \
         (Operations.Feedback answers UNIMPLEMENTED); train without --feedback"
            .into(),
    )
}
