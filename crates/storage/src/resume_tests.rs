use crate::test_util as _;
