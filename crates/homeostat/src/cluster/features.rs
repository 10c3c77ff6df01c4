//! What the similarity model reads of an item, before any fitting: the terms of its three
//! vectors, the claims its error lines make and its number. Pure: no I/O.
//!
//! Splitting this from fitting lets an evaluation corpus be kept as [`Features::hashed`]:
//! bags of hashed terms, with no text and no word order, from which the model computes
//! the same figures as from the texts. Real reports collected for evaluation may be used
//! as reference but not copied; this form keeps what the model needs and nothing a reader
//! could read.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::Item;
use super::conflict::{self, Claims};
use super::model::issue_number;
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
    /// order is left. Equal terms stay equal and counts stay counts, which is all the model
    /// uses: figures computed from the hashed form are those of the texts.
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
        assert_eq!(hashed[3].number, Some(4));
        assert_eq!(hashed[0].words.len(), plain[0].words.len(), "counts are kept");
        let opts = Options { threshold: 0.5, ..Options::default() };
        let labels = cluster_features(&plain, opts);
        assert_eq!(labels[0], labels[1], "the two wordings of one crash are one cluster");
        assert_ne!(labels[0], labels[2], "another subject is not");
        assert_eq!(cluster_features(&hashed, opts), labels);
    }
}
