use super::*;

const H1: &str = "3fcfb9d1242fdce64aee2bfe35266912";
const H2: &str = "6DD6078D720FC86C885F7F87FAF0D32A";

fn parse(text: &str) -> Result<ClientInput, InputError> {
    parse_client_input("in2.txt", 2, text.as_bytes())
}

fn err(text: &str) -> String {
    parse(text).unwrap_err().to_string()
}

#[test]
fn parses_owned_and_wanted_with_or_without_final_newline() {
    let text = format!("1\nfile1 2\n{H1}\n{H2}\n2\nfile2\nfile3");
    let a = parse(&text).unwrap();
    let b = parse(&format!("{text}\n")).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.owned[0].file.name, "file1");
    assert_eq!(a.owned[0].line, 2);
    assert_eq!(a.owned[0].file.hashes[1].as_str(), H2);
    let names: Vec<_> = a.wanted.iter().map(|w| (w.name.as_str(), w.line)).collect();
    assert_eq!(names, [("file2", 6), ("file3", 7)]);
}

#[test]
fn pure_seed_and_pure_leecher() {
    let seed = parse(&format!("1\nf 1\n{H1}\n0\n")).unwrap();
    assert!(seed.wanted.is_empty());
    let leech = parse("0\n1\nf\n").unwrap();
    assert!(leech.owned.is_empty());
}

#[test]
fn official_test_files_parse() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/tema-tests");
    if !dir.exists() {
        return; // the integration tests in crates/cli fail loudly when it is missing
    }
    for t in 1..=4 {
        for r in 1..=6 {
            let d = dir.join(format!("test{t}"));
            if d.join(in_file_name(r)).exists() {
                read_client_input(&d, r).unwrap();
            }
        }
    }
}

#[test]
fn errors_name_file_and_line() {
    assert_eq!(
        err("x\n"),
        "in2.txt:1: expected the number of owned files (0 to 10), found 'x'"
    );
    assert_eq!(err("11\n"), "in2.txt:1: 11 owned files, at most 10 allowed");
    assert!(err(&format!("1\nfile1 2\n{H1}\nzz\n0\n"))
        .starts_with("in2.txt:4: expected hash 2 of 2 of 'file1'"));
    // Count says 3, only 2 hashes: the wanted count line is read as a hash.
    assert!(
        err(&format!("1\nfile1 3\n{H1}\n{H2}\n0\n")).starts_with("in2.txt:5: expected hash 3 of 3")
    );
    assert!(
        err("1\nfile1 101\n").starts_with("in2.txt:2: segment count of 'file1' must be 1 to 100")
    );
    assert!(err("1\nfile1 0\n").starts_with("in2.txt:2: segment count"));
    assert!(err("1\nfile1\n").starts_with("in2.txt:2: expected '<name> <segment count>'"));
    assert!(err("0\n1\nabcdefghijklmnop\n")
        .starts_with("in2.txt:3: file name 'abcdefghijklmnop' is longer than 15"));
    assert_eq!(err("0\n2\nf\nf\n"), "in2.txt:4: file 'f' is wanted twice");
    assert_eq!(
        err(&format!("2\nf 1\n{H1}\nf 1\n{H1}\n0\n")),
        "in2.txt:4: file 'f' is listed twice as owned"
    );
    assert_eq!(
        err(&format!("1\nf 1\n{H1}\n1\nf\n")),
        "in2.txt:5: wants 'f', which this client already owns"
    );
    assert!(err("0\n2\nf\n").starts_with("in2.txt:3: unexpected end of file"));
    assert_eq!(
        err("0\n1\nf\ng\n"),
        "in2.txt:4: unexpected extra content 'g' after the wanted files"
    );
    assert!(err("").starts_with("in2.txt:1: unexpected end of file"));
    assert!(err("0\n1\na b\n").starts_with("in2.txt:3: expected one file name"));
    assert_eq!(
        parse_client_input("in2.txt", 2, b"0\n\xff\n")
            .unwrap_err()
            .to_string(),
        "in2.txt:2: not UTF-8 text"
    );
    assert!(err(&format!("1\nf 1\n{H1}0\n0\n")).starts_with("in2.txt:3: expected hash 1 of 1"));
}

#[test]
fn missing_file_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let e = read_client_input(dir.path(), 4).unwrap_err().to_string();
    assert!(
        e.starts_with("in4.txt: cannot read it (client rank 4 needs it)"),
        "{e}"
    );
}
