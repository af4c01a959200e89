//! CNI_ARGS: `KEY=VALUE;KEY=VALUE`. podnet reads none of the keys today but refuses a malformed
//! list (code 4) so a runtime bug is not silently ignored.

/// Parses CNI_ARGS into pairs; an empty string is an empty list.
pub fn parse_cni_args(s: &str) -> Result<Vec<(String, String)>, String> {
    if s.is_empty() {
        return Ok(Vec::new());
    }
    s.split(';')
        .filter(|p| !p.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
            _ => Err(format!("pair {pair:?} is not KEY=VALUE")),
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_pairs() {
        let got = parse_cni_args("IgnoreUnknown=1;K8S_POD_NAME=a=b").unwrap_or_default();
        assert_eq!(
            got,
            vec![
                ("IgnoreUnknown".into(), "1".into()),
                ("K8S_POD_NAME".into(), "a=b".into())
            ]
        );
        assert!(parse_cni_args("novalue").is_err());
        assert!(parse_cni_args("=v").is_err());
        assert_eq!(parse_cni_args(""), Ok(vec![]));
    }
}
