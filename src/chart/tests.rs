use super::*;

#[test]
fn one_sample_is_not_enough() {
    assert_eq!(check(&[]), Err(NotEnough { since: None }));
    assert_eq!(check(&[(100, 1.0)]), Err(NotEnough { since: Some(100) }));
    assert_eq!(
        check(&[(100, 1.0), (100, 2.0)]),
        Err(NotEnough { since: Some(100) })
    );
    assert_eq!(check(&[(100, 1.0), (160, 2.0)]), Ok(()));
}
