//! What the similarity model reads of an item, before any fitting: the terms of its three
//! vectors, the claims its error lines make and its number. Pure: no I/O.
//!
//! Splitting this from fitting lets an evaluation corpus be kept as [`Features::hashed`]:
//! bags of terms hashed with a secret salt, with no text and no word order, from which the
//! model computes the figures of the texts. Real reports collected for evaluation may be
//! used as reference but not copied; this form keeps what the model compares and, without
//! the salt, nothing a reader could read back (with it, a dictionary would recover the
//! words, so the salt is never committed).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::Item;
use super::conflict::{self, Claims};
use super::signature;
use super::text;

/// An item reduced to what the model compares.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Features {
    pub repo: String,
    /// The item's number in its repository (see [`issue_number`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<u64>,
    /// Signature features, `kind:value` (see [`signature::of_item`]).
    pub signature: Vec<String>,
    /// Character trigrams of the title's words.
    pub grams: Vec<String>,
    /// Words of title and body, as often as they occur.
    pub words: Vec<String>,
    pub claims: Claims,
}

/// `owner/name#12`, or a URL ending in `/issues/12`, `/pull/12` or `/discussions/12`.
pub fn issue_number(item: &Item) -> Option<u64> {
    let from_id = item.id.rsplit_once('#').and_then(|(_, n)| n.parse().ok());
    from_id.or_else(|| {
        let mut parts = item.url.trim_end_matches('/').rsplit('/');
        let n = parts.next()?.parse().ok()?;
        matches!(parts.next()?, "issues" | "pull" | "discussions").then_some(n)
    })
}

impl Features {
    pub fn of(item: &Item) -> Self {
        Self {
            repo: item.repo.clone(),
            number: issue_number(item),
            signature: signature::of_item(item),
            grams: text::char_grams(&item.title),
            words: text::words(&item.title).chain(text::words(&item.body)).collect(),
            claims: conflict::of_item(item),
        }
    }

    /// The same features with every term replaced by a salted hash of it (a signature
    /// feature keeps its `kind:`, which weighs it) and every list sorted, so no text and no
    /// order is left. Equal terms stay equal and counts stay counts, which is what the model
    /// compares; what else could differ is the order terms are first seen in, which breaks
    /// ties among a report's equally weighted index words and orders float sums — so a
    /// hashed corpus is checked against its texts once, where they are at hand.
    pub fn hashed(&self, salt: &str) -> Self {
        let term = |t: &str| homeostat_core::hex::hex(&Sha256::digest(format!("{salt}\n{t}"))[..6]);
        let bag = |terms: &[String], f: &dyn Fn(&str) -> String| {
            let mut out: Vec<String> = terms.iter().map(|t| f(t)).collect();
            out.sort();
            out
        };
        let feature = |f: &str| match f.split_once(':') {
            Some((kind, value)) => format!("{kind}:{}", term(value)),
            None => term(f),
        };
        let mut args: Vec<(String, Vec<String>)> =
            self.claims.args.iter().map(|(key, args)| (term(key), bag(args, &term))).collect();
        args.sort();
        Self {
            repo: self.repo.clone(),
            number: self.number,
            signature: bag(&self.signature, &feature),
            grams: bag(&self.grams, &term),
            words: bag(&self.words, &term),
            claims: Claims { args, exits: bag(&self.claims.exits, &term), http: bag(&self.claims.http, &term) },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::{Options, cluster_features};

    fn item(id: &str, title: &str, body: &str) -> Item {
        Item { id: id.into(), repo: "o/r".into(), title: title.into(), body: body.into(), ..Item::default() }
    }

    #[test]
    fn an_items_number_comes_from_its_id_or_its_url() {
        let at = |id: &str, url: &str| issue_number(&Item { id: id.into(), url: url.into(), ..Item::default() });
        assert_eq!(at("o/r#12", ""), Some(12));
        assert_eq!(at("x", "https://github.com/o/r/issues/7"), Some(7));
        assert_eq!(at("x", "https://github.com/o/r/discussions/9/"), Some(9));
        assert_eq!(at("x", "https://github.com/o/r/blob/main/3"), None);
        assert_eq!(at("line-4", ""), None);
    }

    #[test]
    fn the_hashed_form_holds_no_text_and_clusters_as_the_text_does() {
        let items = [
            item("o/r#1", "Popup crashes on open", "TypeError: Cannot read properties of undefined (reading 'id')"),
            item(
                "o/r#2",
                "Popup crash when opening",
                "Uncaught TypeError: Cannot read properties of undefined (reading 'id')",
            ),
            item("o/r#3", "Options crash", "TypeError: Cannot read properties of undefined (reading 'title')"),
            item("o/r#4", "Sync fails with HTTP 503", "exit status 2 after the 0x80263001 error"),
        ];
        let plain: Vec<Features> = items.iter().map(Features::of).collect();
        let hashed: Vec<Features> = plain.iter().map(|f| f.hashed("salt")).collect();
        let text = serde_json::to_string(&hashed).unwrap();
        for word in ["popup", "crash", "typeerror", "TypeError", "reading", "503", "0x80263001", "title"] {
            assert!(!text.contains(word), "{word} left in {text}");
        }
        assert!(hashed[0].signature.iter().any(|f| f.starts_with("type:")), "the kind is kept");
        let other_salt = plain[0].hashed("another salt");
        assert!(other_salt.words.iter().all(|w| !hashed[0].words.contains(w)), "the salt decides every term");
        assert_eq!(hashed[3].number, Some(4));
        assert_eq!(hashed[0].words.len(), plain[0].words.len(), "counts are kept");
        let opts = Options { threshold: 0.5, ..Options::default() };
        let labels = cluster_features(&plain, opts);
        assert_eq!(labels[0], labels[1], "the two wordings of one crash are one cluster");
        assert_ne!(labels[0], labels[2], "another subject is not");
        assert_eq!(cluster_features(&hashed, opts), labels);
    }
}
