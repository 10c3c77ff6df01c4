//! Non-breaking checks over a change set, and the verdict. (being written)
