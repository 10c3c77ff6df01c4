//! What a frame is (normalised, with its rule-pattern hits), cached by frame; and the
//! plan of which stack rules can apply, per family and pass.

use super::normalize::{self, Normalized};
use super::rules::{Action, FRAME_FIELDS, FrameField, Rules};
use super::stack::Platform;
use super::{Algorithm, Engine, FAMILIES, FRAME_CACHE, FrameFacts, RulePlan};
use crate::event::Frame;

/// The cache key of a frame: what it is, not where (no line or column). Not keyed against
/// attackers: a colliding key only costs a comparison ([`FrameFacts::is_for`]).
fn frame_key(raw: &Frame, platform: Platform, algorithm: Algorithm) -> u64 {
    use std::hash::{BuildHasher, Hash, Hasher};
    let mut h = foldhash::fast::FixedState::default().build_hasher();
    (&raw.function, &raw.raw_function, &raw.module, &raw.filename, &raw.abs_path, &raw.package).hash(&mut h);
    platform.hash(&mut h);
    algorithm.hash(&mut h);
    h.finish()
}

impl Engine {
    pub(super) fn from_rules(rules: Rules) -> Engine {
        let plan = FAMILIES.map(|family| {
            [0, 1].map(|pass| {
                let mut plan = RulePlan {
                    by_pattern: std::array::from_fn(|field| vec![Vec::new(); rules.sets[field].len()]),
                    ..RulePlan::default()
                };
                let applicable = rules
                    .stack
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| r.families.as_ref().is_none_or(|f| f.iter().any(|x| x == family)))
                    .filter(|(_, r)| {
                        r.actions.iter().any(|a| match a {
                            Action::App(..) | Action::Category(_) => pass == 0,
                            Action::Group(..) | Action::MaxFrames(_) => pass == 1,
                        })
                    });
                for (i, rule) in applicable {
                    match rule.required {
                        Some((field, slot)) => {
                            plan.by_pattern[field as usize].get_mut(slot).into_iter().for_each(|l| l.push(i))
                        }
                        None => plan.always.push(i),
                    }
                }
                plan
            })
        });
        Engine { rules, plan, frames: Default::default(), maps: None }
    }

    /// The normalised frames of a stack and their rule matches: those seen before from the
    /// cache (under one read lock), the others computed and cached.
    pub(super) fn frames_facts(
        &self,
        raws: &[Frame],
        platform: Platform,
        algorithm: Algorithm,
    ) -> Vec<std::sync::Arc<FrameFacts>> {
        let looked_up: Vec<(u64, Option<std::sync::Arc<FrameFacts>>)> = match self.frames.read() {
            Ok(cache) => raws
                .iter()
                .map(|raw| {
                    let key = frame_key(raw, platform, algorithm);
                    (key, cache.get(&key).filter(|f| f.is_for(raw, platform, algorithm)).cloned())
                })
                .collect(),
            Err(_) => raws.iter().map(|raw| (frame_key(raw, platform, algorithm), None)).collect(),
        };
        looked_up
            .into_iter()
            .zip(raws)
            .map(|((key, hit), raw)| hit.unwrap_or_else(|| self.new_frame_facts(key, raw, platform, algorithm)))
            .collect()
    }

    fn new_frame_facts(
        &self,
        key: u64,
        raw: &Frame,
        platform: Platform,
        algorithm: Algorithm,
    ) -> std::sync::Arc<FrameFacts> {
        let norm = normalize::normalize(raw, platform, algorithm);
        let hits = self.frame_hits(&norm, raw);
        let hit_list = (0..FRAME_FIELDS)
            .flat_map(|field| hits[field].iter().enumerate().filter(|(_, h)| **h).map(move |(slot, _)| (field, slot)))
            .collect();
        let key_frame = Frame { lineno: None, colno: None, in_app: None, ..raw.clone() };
        let facts = std::sync::Arc::new(FrameFacts { key: key_frame, platform, algorithm, norm, hits, hit_list });
        if let Ok(mut cache) = self.frames.write() {
            if cache.len() >= FRAME_CACHE {
                cache.clear();
            }
            cache.insert(key, facts.clone());
        }
        facts
    }
    /// Which frame patterns of the rules match this frame: one pass per field.
    fn frame_hits(&self, norm: &Normalized, raw: &Frame) -> [Vec<bool>; FRAME_FIELDS] {
        let sets = &self.rules.sets;
        let scan = |field: FrameField, values: &[Option<&str>]| -> Vec<bool> {
            let set = &sets[field as usize];
            let mut hit = vec![false; set.len()];
            if set.is_empty() {
                return hit;
            }
            for (n, v) in values.iter().enumerate() {
                // The same text twice (abs_path == filename) needs one scan.
                let Some(v) = v.filter(|v| !values[..n].contains(&Some(v))) else { continue };
                for i in set.matches(v).iter() {
                    hit[i] = true;
                }
            }
            hit
        };
        fn slashes(p: Option<&str>) -> Option<std::borrow::Cow<'_, str>> {
            p.map(|p| if p.contains('\\') { p.replace('\\', "/").into() } else { p.into() })
        }
        let filename = slashes(raw.filename.as_deref());
        let abs = slashes(raw.abs_path.as_deref());
        [
            scan(FrameField::Path, &[abs.as_deref(), filename.as_deref()]),
            scan(FrameField::Filename, &[filename.as_deref()]),
            scan(FrameField::Module, &[norm.rule_module.as_deref()]),
            scan(FrameField::Function, &[norm.rule_function.as_deref()]),
            scan(FrameField::Package, &[raw.package.as_deref()]),
        ]
    }
}
