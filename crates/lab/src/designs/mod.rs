//! The designs, one folder each: its configuration and [`crate::design::Design`]
//! implementation, its simulated run, and its attack scenarios.
//!
//! The two lists below are the only places that name every design: adding
//! one adds a folder and a line to each.

pub mod channels;
pub mod l1;
pub mod optimistic;
pub mod zk;

use crate::{design::Design, lab::LabConfig, scenario::Scenario};

/// Every design of `cfg`, in report order.
pub fn all(cfg: &LabConfig) -> Vec<Box<dyn Design>> {
    let mut all: Vec<Box<dyn Design>> = Vec::new();
    all.extend(
        l1::designs(cfg)
            .into_iter()
            .map(|d| Box::new(d) as Box<dyn Design>),
    );
    all.extend(
        optimistic::designs(cfg)
            .into_iter()
            .map(|d| Box::new(d) as Box<dyn Design>),
    );
    all.extend(
        zk::designs(cfg)
            .into_iter()
            .map(|d| Box::new(d) as Box<dyn Design>),
    );
    all
}

/// Every design's attack scenarios, in the order `scenario run --all`
/// plays them.
pub fn scenarios() -> Vec<Scenario> {
    let mut all = optimistic::scenarios::catalog();
    all.extend(zk::scenarios::catalog());
    all.extend(l1::scenarios::catalog());
    all.extend(channels::scenarios::catalog());
    all
}
