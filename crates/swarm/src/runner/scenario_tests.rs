//! Tests of scenario parsing, defaults, overrides and validation.

use super::*;

#[test]
fn default_toml_is_the_default_scenario() {
    let parsed = Scenario::from_toml(DEFAULT_SCENARIO_TOML).expect("default parses");
    assert_eq!(parsed, Scenario::default());
    // An empty file is the default too.
    assert_eq!(Scenario::from_toml("").expect("empty"), Scenario::default());
    parsed.validate().expect("default is valid");
}

#[test]
fn default_has_seeds_peers_and_leechers() {
    let clients = Scenario::default().resolved_clients();
    assert_eq!(clients.len(), 16);
    assert_eq!(clients[0].name, "seed-1");
    assert_eq!(clients[0].upload_limit, Some(8 << 20));
    assert_eq!(clients[2].name, "peer-1");
    assert_eq!(clients[2].roles, vec![Role::Peer]);
    assert_eq!(clients[15].name, "leech-8");
    assert_eq!(clients[15].upload_limit, Some(4 << 20));
    assert_eq!(clients[15].download_limit, None);
}

#[test]
fn units_rates_and_explicit_entries() {
    let s = Scenario::from_toml(
        r#"
        size = "2MiB"
        piece_length = "32KiB"
        upload_limit = "500K/s"
        download_limit = 0
        seeds = 1
        peers = 0
        leechers = 0
        [[file]]
        name = "a.bin"
        [[file]]
        name = "b.bin"
        size = 4096
        [[client]]
        name = "mixed"
        count = 2
        roles = ["leech", "seed"]
        download_limit = "1MB"
        corrupt = true
        [[client]]
        roles = ["leecher"]
        "#,
    )
    .expect("parses");
    assert_eq!(s.piece_length, PieceLength::Bytes(32 * 1024));
    assert_eq!(s.upload_limit, Rate(Some(500 * 1024)));
    assert_eq!(s.download_limit, Rate(None));
    let files = s.resolved_files();
    assert_eq!(files[0].size, 2 << 20);
    assert_eq!(files[1].size, 4096);
    let clients = s.resolved_clients();
    assert_eq!(clients.len(), 4);
    assert_eq!(clients[1].name, "mixed-1");
    assert_eq!(clients[2].name, "mixed-2");
    assert_eq!(clients[1].roles, vec![Role::Leech, Role::Seed]);
    assert_eq!(clients[1].download_limit, Some(1_000_000));
    assert!(clients[1].corrupt);
    assert_eq!(clients[3].name, "client-1");
    assert_eq!(clients[3].roles, vec![Role::Leech, Role::Leech]);
    s.validate().expect("valid");
}

#[test]
fn unknown_fields_and_bad_values_are_errors() {
    let e = Scenario::from_toml("seedz = 3").expect_err("unknown field");
    assert!(e.to_string().contains("seedz"), "{e}");
    let e = Scenario::from_toml("size = \"lots\"").expect_err("bad size");
    assert!(e.to_string().contains("lots"), "{e}");
    let e = Scenario::from_toml("piece_length = 1000").expect_err("bad piece length");
    assert!(e.to_string().contains("power of two"), "{e}");
    let e = Scenario::from_toml("[[client]]\nroles = [\"boss\"]").expect_err("bad role");
    assert!(e.to_string().contains("boss"), "{e}");
}

#[test]
fn validation_names_the_problem() {
    let check = |toml: &str, needle: &str| {
        let s = Scenario::from_toml(toml).expect("parses");
        let e = s.validate().expect_err(toml);
        assert!(e.to_string().contains(needle), "{toml}: {e}");
    };
    check("seeds = 0", "seeded by none");
    check("peers = 0\nleechers = 0", "no client downloads");
    check("hold_fraction = 1.5", "hold_fraction");
    check("ranks = 1", "ranks");
    check("size = 0", "at least 1 byte");
    check(
        "[[file]]\nname = \"x\"\n[[file]]\nname = \"x\"",
        "used twice",
    );
    check(
        "[[client]]\nname = \"seed-1\"\nroles = [\"leech\"]",
        "used twice",
    );
    check("[[file]]\nname = \"../x\"", "plain file name");
}

#[test]
fn overrides_replace_counts_sizes_and_caps() {
    let mut s = Scenario::from_toml(
        "[[client]]\nroles = [\"leech\"]\nupload_limit = \"1M\"\n[[file]]\nsize = 100",
    )
    .expect("parses");
    s.apply(&Overrides {
        seeds: Some(1),
        peers: Some(0),
        leechers: Some(3),
        size: Some(1 << 20),
        upload_limit: Some(Some(2 << 20)),
        download_limit: Some(None),
        ..Overrides::default()
    })
    .expect("applies");
    assert_eq!(s.resolved_files()[0].size, 1 << 20);
    let clients = s.resolved_clients();
    assert_eq!(clients.len(), 5);
    assert!(clients.iter().all(|c| c.upload_limit == Some(2 << 20)));
    let e = s
        .apply(&Overrides {
            files: Some(2),
            ..Overrides::default()
        })
        .expect_err("--files with [[file]]");
    assert!(e.to_string().contains("--files"), "{e}");
}

#[test]
fn unlimited_words_and_size_parsing() {
    assert_eq!(parse_rate("unlimited"), Ok(None));
    assert_eq!(parse_rate("0"), Ok(None));
    assert_eq!(parse_rate("2MiB/s"), Ok(Some(2 << 20)));
    assert_eq!(parse_size("64MiB"), Ok(64 << 20));
    assert!(parse_size("1M/s").is_err());
}

#[test]
fn encryption_is_read_and_a_bad_one_is_an_error() {
    let s = Scenario::from_toml(r#"encryption = "disable""#).expect("parses");
    assert_eq!(s.encryption, EncryptionPolicy::Disable);
    let s = Scenario::from_toml(r#"encryption = "require""#).expect("parses");
    assert_eq!(s.encryption, EncryptionPolicy::Require);
    let e = Scenario::from_toml(r#"encryption = "maybe""#).expect_err("refused");
    assert!(e.to_string().contains("maybe"), "{e}");
}
