//! Checks across all in-files, done by rank 0 before anything starts: every client's file
//! parses, every wanted file is owned by some client, and owners of the same file agree on
//! its hashes.

use std::collections::BTreeMap;
use std::path::Path;

use super::input::{in_file_name, read_client_input, ClientInput, InputError};

/// Parse `in1.txt ..= in<clients>.txt` in `dir` and check them against each other.
pub fn validate_inputs(dir: &Path, clients: usize) -> Result<Vec<ClientInput>, InputError> {
    let inputs = (1..=clients)
        .map(|r| read_client_input(dir, r))
        .collect::<Result<Vec<_>, _>>()?;
    check_consistent(&inputs)?;
    Ok(inputs)
}

/// The cross-file checks on parsed inputs.
pub fn check_consistent(inputs: &[ClientInput]) -> Result<(), InputError> {
    // name -> (first owner's input, index of the owned entry)
    let mut first_owner: BTreeMap<&str, (&ClientInput, usize)> = BTreeMap::new();
    for input in inputs {
        for (i, entry) in input.owned.iter().enumerate() {
            let name = entry.file.name.as_str();
            match first_owner.get(name) {
                None => {
                    first_owner.insert(name, (input, i));
                }
                Some(&(other, j)) => {
                    if other.owned[j].file.hashes != entry.file.hashes {
                        return Err(InputError::Malformed {
                            file: in_file_name(input.rank),
                            line: entry.line,
                            what: format!(
                                "'{name}' differs from the copy in {} (segment count or hashes)",
                                in_file_name(other.rank)
                            ),
                        });
                    }
                }
            }
        }
    }
    for input in inputs {
        for w in &input.wanted {
            if !first_owner.contains_key(w.name.as_str()) {
                return Err(InputError::Malformed {
                    file: in_file_name(input.rank),
                    line: w.line,
                    what: format!("wants '{}', which no client owns", w.name),
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::input::parse_client_input;

    const H1: &str = "3fcfb9d1242fdce64aee2bfe35266912";
    const H2: &str = "6dd6078d720fc86c885f7f87faf0d32a";

    fn input(rank: usize, text: &str) -> ClientInput {
        parse_client_input(&in_file_name(rank), rank, text.as_bytes()).unwrap()
    }

    #[test]
    fn wanted_file_nobody_owns_is_an_error_with_its_line() {
        let inputs = [
            input(1, &format!("1\nf 1\n{H1}\n0\n")),
            input(2, "0\n2\nf\nghost\n"),
        ];
        let e = check_consistent(&inputs).unwrap_err().to_string();
        assert_eq!(e, "in2.txt:4: wants 'ghost', which no client owns");
    }

    #[test]
    fn owners_must_agree() {
        let inputs = [
            input(1, &format!("1\nf 1\n{H1}\n0\n")),
            input(2, &format!("1\nf 1\n{H2}\n0\n")),
        ];
        let e = check_consistent(&inputs).unwrap_err().to_string();
        assert_eq!(
            e,
            "in2.txt:2: 'f' differs from the copy in in1.txt (segment count or hashes)"
        );
        let same = [
            input(1, &format!("1\nf 1\n{H1}\n0\n")),
            input(2, &format!("1\nf 1\n{H1}\n0\n")),
        ];
        check_consistent(&same).unwrap();
    }
}
