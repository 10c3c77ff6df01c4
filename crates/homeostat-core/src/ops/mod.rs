//! hs-ops' pure part: alerts as values ([`alert`]), the runbook format and lint
//! ([`runbook`]), matching runbooks to an alert ([`matcher`]), the decision to act
//! ([`decide`]) and the placeholder filler ([`vars`]). Running a runbook (HTTP, processes,
//! the forge, the model) is `homeostat::ops`.

pub mod alert;
pub mod decide;
pub mod matcher;
pub mod runbook;
pub mod vars;
