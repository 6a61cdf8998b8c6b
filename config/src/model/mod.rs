//! The typed model. (Being written; `build` and `Config` are the contract.)

use crate::ast::Node;
use crate::diag::Diagnostics;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Config {}

pub fn build(tree: &[Node], diags: &mut Diagnostics) -> Config {
    let _ = (tree, diags);
    Config::default()
}
