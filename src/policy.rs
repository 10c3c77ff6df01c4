//! The risk policy: how risky a fix for an error is, how risky a change is. (being written)
