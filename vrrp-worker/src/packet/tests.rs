use super::*;

#[test]
fn peek_needs_a_header() {
    assert_eq!(peek(&[0x21, 51, 100, 1, 0, 1, 0]), None);
    assert_eq!(peek(&[0x21, 51, 100, 1, 0, 1, 0, 0]), Some((2, 51)));
}
