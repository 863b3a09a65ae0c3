//! The WAN delay model and the three-hop finality it predicts.

use terrace_node::sim::{REGIONS, one_way_ms, three_hop_finality_ms};

#[test]
fn equal_delays_take_three_hops() {
    let delay = vec![vec![10; 4]; 4];
    for leader in 0..4 {
        assert_eq!(three_hop_finality_ms(&delay, leader), vec![30; 4]);
    }
}

#[test]
fn a_far_validator_finalizes_from_the_near_quorum() {
    // Three validators 5 ms apart, one 100 ms from all: the near three
    // are a quorum and finalize in 15 ms; the far one hears their
    // finalize votes 100 ms after they send them.
    let mut delay = vec![vec![5; 4]; 4];
    for (i, row) in delay.iter_mut().enumerate() {
        if i != 3 {
            row[3] = 100;
        }
    }
    delay[3] = vec![100, 100, 100, 5];
    assert_eq!(three_hop_finality_ms(&delay, 0), vec![15, 15, 15, 110]);
}

#[test]
fn region_model_is_symmetric() {
    for a in 0..REGIONS.len() {
        for b in 0..REGIONS.len() {
            assert_eq!(one_way_ms(a, b), one_way_ms(b, a));
        }
    }
}
