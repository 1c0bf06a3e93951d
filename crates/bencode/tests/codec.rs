//! Decoder and encoder behaviour: spans, errors with offsets, limits, round trips.

use bitswarm_bencode::{decode, decode_prefix, encode, DecodeError, Decoder, Kind, OwnedValue};
use proptest::prelude::*;

#[test]
fn decodes_all_kinds_with_spans() {
    let input = b"d3:bari-42e3:fool4:spami0eee";
    let v = decode(input).unwrap();
    let d = v.as_dict().unwrap();
    assert_eq!(d.get_int(b"bar"), Some(-42));
    let foo = d.get(b"foo").unwrap();
    assert_eq!(foo.raw(), b"l4:spami0ee");
    assert_eq!(foo.offset(), 16);
    assert_eq!(foo.as_list().unwrap()[0].as_str(), Some("spam"));
    assert_eq!(v.raw(), &input[..]);
}

#[test]
fn raw_span_of_unsorted_noncanonical_dict_is_original_bytes() {
    let input = b"d4:infod4:zzzzi01e2:aa0:ee";
    let v = decode(input).unwrap();
    let info = v.as_dict().unwrap().get(b"info").unwrap();
    assert_eq!(info.raw(), b"d4:zzzzi01e2:aa0:e");
    assert_eq!(info.encode(), b"d2:aa0:4:zzzzi1ee");
    assert!(Decoder::new().strict(true).decode(input).is_err());
}

#[test]
fn extreme_integers() {
    assert_eq!(
        decode(b"i-9223372036854775808e").unwrap().as_int(),
        Some(i64::MIN)
    );
    assert_eq!(
        decode(b"i9223372036854775807e").unwrap().as_int(),
        Some(i64::MAX)
    );
    assert!(matches!(
        decode(b"i9223372036854775808e"),
        Err(DecodeError::NumberOverflow { offset: 0, .. })
    ));
}

#[test]
fn errors_carry_offsets() {
    let cases: &[(&[u8], usize)] = &[
        (b"", 0),
        (b"i12", 3),
        (b"ie", 0),
        (b"i-e", 0),
        (b"i1x", 2),
        (b"l4:spam", 7),
        (b"d1:a", 4),
        (b"di1ei2ee", 1),
        (b"x", 0),
        (b"4:ab", 0),
        (b"i1ei2e", 3),
        (b"d1:ai1e1:ai2ee", 7),
        (b"d1:bi1e1:ai2e1:bi3ee", 13),
        (b"3x", 1),
    ];
    for (input, offset) in cases {
        let err = decode(input).unwrap_err();
        assert_eq!(err.offset(), *offset, "{input:?}: {err}");
        assert!(err.to_string().contains(&format!("byte {offset}")), "{err}");
    }
}

#[test]
fn huge_declared_length_is_refused_cheaply() {
    let err = decode(b"99999999999999:x").unwrap_err();
    assert!(matches!(
        err,
        DecodeError::LengthTooLarge {
            declared: 99999999999999,
            ..
        }
    ));
    let err = decode(b"999999999999999999999999:x").unwrap_err();
    assert!(matches!(err, DecodeError::NumberOverflow { .. }));
}

#[test]
fn depth_limit() {
    let deep = format!("{}{}", "l".repeat(100), "e".repeat(100));
    assert!(decode(deep.as_bytes()).is_ok());
    let deeper = format!("{}{}", "l".repeat(101), "e".repeat(101));
    assert!(matches!(
        decode(deeper.as_bytes()),
        Err(DecodeError::TooDeep { offset: 100, .. })
    ));
    let very = "l".repeat(1_000_000);
    assert!(matches!(
        decode(very.as_bytes()),
        Err(DecodeError::TooDeep { .. })
    ));
    assert!(Decoder::new().max_depth(1).decode(b"lle").is_err());
}

#[test]
fn value_limit() {
    assert!(matches!(
        Decoder::new().max_values(3).decode(b"li1ei2ei3ee"),
        Err(DecodeError::TooManyValues { offset: 7, .. })
    ));
}

#[test]
fn prefix_decoding_leaves_the_rest() {
    let (v, used) = decode_prefix(b"d8:msg_typei1ee\x00\x01\x02").unwrap();
    assert_eq!(used, 15);
    assert_eq!(v.as_dict().unwrap().get_int(b"msg_type"), Some(1));
}

#[test]
fn strict_mode_rejects_noncanonical_numbers() {
    let strict = Decoder::new().strict(true);
    for bad in [&b"i01e"[..], b"i-0e", b"01:a", b"d1:bi1e1:ai1ee"] {
        assert!(strict.decode(bad).is_err(), "{bad:?}");
        assert!(decode(bad).is_ok(), "{bad:?}");
    }
    assert!(strict.decode(b"i0e").is_ok());
    assert!(strict.decode(b"0:").is_ok());
}

#[test]
fn owned_encoding_sorts_keys_and_embeds_raw() {
    let mut d = OwnedValue::dict();
    d.insert("zeta", 1);
    d.insert("alpha", "x");
    d.insert("info", OwnedValue::Raw(b"d1:bi1e1:ai2ee".to_vec()));
    d.insert(
        "list",
        vec![OwnedValue::Int(-3), OwnedValue::from(&b"\xff"[..])],
    );
    assert_eq!(
        encode(&d),
        b"d5:alpha1:x4:infod1:bi1e1:ai2ee4:listli-3e1:\xffe4:zetai1ee".to_vec()
    );
}

fn owned_value() -> impl Strategy<Value = OwnedValue> {
    let leaf = prop_oneof![
        any::<i64>().prop_map(OwnedValue::Int),
        proptest::collection::vec(any::<u8>(), 0..20).prop_map(OwnedValue::Bytes),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..8).prop_map(OwnedValue::List),
            proptest::collection::btree_map(
                proptest::collection::vec(any::<u8>(), 0..8),
                inner,
                0..8
            )
            .prop_map(OwnedValue::Dict),
        ]
    })
}

proptest! {
    #[test]
    fn encode_then_decode_is_identity(v in owned_value()) {
        let bytes = encode(&v);
        let decoded = Decoder::new().strict(true).decode(&bytes).unwrap();
        prop_assert_eq!(decoded.to_owned_value(), v);
        prop_assert_eq!(decoded.raw(), &bytes[..]);
    }

    #[test]
    fn decode_then_encode_canonical_is_byte_identical(v in owned_value()) {
        let bytes = encode(&v);
        let decoded = decode(&bytes).unwrap();
        prop_assert_eq!(decoded.encode(), bytes);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = decode(&bytes);
    }

    #[test]
    fn spans_of_children_slice_the_input(v in owned_value()) {
        let bytes = encode(&v);
        let decoded = decode(&bytes).unwrap();
        check_spans(&decoded, &bytes);
    }
}

fn check_spans(v: &bitswarm_bencode::Value<'_>, input: &[u8]) {
    assert_eq!(&input[v.offset()..v.offset() + v.raw().len()], v.raw());
    match v.kind() {
        Kind::List(items) => items.iter().for_each(|i| check_spans(i, input)),
        Kind::Dict(d) => d.iter().for_each(|(_, i)| check_spans(i, input)),
        _ => {}
    }
}
