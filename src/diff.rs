//! The base..head change set through git2. (being written)
