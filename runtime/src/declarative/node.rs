//! A value of the parsed file with the path that leads to it
//! (`tracer_provider.processors[0].batch`), so that every complaint says
//! where in the file it is.

use yaml_rust2::Yaml;
use yaml_rust2::yaml::Hash;

/// What is wrong, and where.
#[derive(Debug)]
pub(super) struct Problem {
    pub(super) path: String,
    pub(super) message: String,
}

impl Problem {
    pub(super) fn at(path: &str, message: impl Into<String>) -> Problem {
        Problem {
            path: path.to_owned(),
            message: message.into(),
        }
    }
}

pub(super) struct Node<'a> {
    pub(super) path: String,
    pub(super) yaml: &'a Yaml,
}

impl<'a> Node<'a> {
    /// The document's top.
    pub(super) fn root(yaml: &'a Yaml) -> Node<'a> {
        Node {
            path: String::new(),
            yaml,
        }
    }

    /// The value as text: `None` for null (an empty value, or a reference
    /// to an unset variable), an error for a mapping or a list.
    pub(super) fn scalar(&self) -> Result<Option<String>, Problem> {
        Ok(Some(match self.yaml {
            Yaml::Null => return Ok(None),
            Yaml::String(text) if text.is_empty() => return Ok(None),
            Yaml::String(text) | Yaml::Real(text) => text.clone(),
            Yaml::Integer(number) => number.to_string(),
            Yaml::Boolean(flag) => flag.to_string(),
            Yaml::Hash(_) => return Err(self.problem("expected a value, found a mapping")),
            Yaml::Array(_) => return Err(self.problem("expected a value, found a list")),
            Yaml::Alias(_) | Yaml::BadValue => {
                return Err(self.problem("not a valid value (an unknown alias or tag?)"));
            }
        }))
    }

    /// The entries of a mapping; none for null (`console:` with nothing
    /// after it is an empty mapping in these files).
    fn mapping(&self) -> Result<Option<&'a Hash>, Problem> {
        match self.yaml {
            Yaml::Hash(hash) => Ok(Some(hash)),
            Yaml::Null => Ok(None),
            _ => Err(self.problem("expected a mapping")),
        }
    }

    /// The value under `key` of this mapping, if there.
    pub(super) fn field(&self, key: &str) -> Result<Option<Node<'a>>, Problem> {
        let Some(hash) = self.mapping()? else {
            return Ok(None);
        };
        Ok(hash.get(&Yaml::String(key.to_owned())).map(|yaml| Node {
            path: child_path(&self.path, key),
            yaml,
        }))
    }

    /// The text under `key` of this mapping, if there and not null.
    pub(super) fn text(&self, key: &str) -> Result<Option<String>, Problem> {
        match self.field(key)? {
            Some(field) => field.scalar(),
            None => Ok(None),
        }
    }

    /// The items of a list; none for null.
    pub(super) fn items(&self) -> Result<Vec<Node<'a>>, Problem> {
        let items: &'a [Yaml] = match self.yaml {
            Yaml::Array(items) => items,
            Yaml::Null => &[],
            _ => return Err(self.problem("expected a list")),
        };
        Ok(items
            .iter()
            .enumerate()
            .map(|(index, yaml)| Node {
                path: format!("{}[{index}]", self.path),
                yaml,
            })
            .collect())
    }

    /// The one key of a mapping that must have exactly one (a processor, an
    /// exporter, a sampler, a propagator), and its value.
    pub(super) fn single_entry(&self) -> Result<(&'a str, Node<'a>), Problem> {
        let hash = self
            .mapping()?
            .ok_or_else(|| self.problem("expected a mapping with one key"))?;
        let mut entries = hash.iter();
        match (entries.next(), entries.next()) {
            (Some((Yaml::String(key), yaml)), None) => Ok((
                key,
                Node {
                    path: child_path(&self.path, key),
                    yaml,
                },
            )),
            (Some(_), None) => Err(self.problem("expected a text key")),
            _ => Err(self.problem("expected exactly one key")),
        }
    }

    /// The paths of this mapping's keys that are not among `known`.
    pub(super) fn unknown_keys(&self, known: &[&str]) -> Vec<String> {
        let Ok(Some(hash)) = self.mapping() else {
            return Vec::new();
        };
        hash.keys()
            .filter_map(|key| match key {
                Yaml::String(key) if known.contains(&key.as_str()) => None,
                Yaml::String(key) => Some(child_path(&self.path, key)),
                other => Some(child_path(&self.path, &format!("{other:?}"))),
            })
            .collect()
    }

    /// Fails at the first key of this mapping not among `known`, for
    /// parts where an unknown key would change what the rest means.
    pub(super) fn refuse_unknown(&self, known: &[&str], what: &str) -> Result<(), Problem> {
        match self.unknown_keys(known).first() {
            Some(path) => Err(Problem::at(
                path,
                format!("not a property of {what} ({})", known.join(", ")),
            )),
            None => Ok(()),
        }
    }

    pub(super) fn problem(&self, message: impl Into<String>) -> Problem {
        Problem::at(&self.path, message)
    }
}

/// `parent.key`, or `key` at the top.
fn child_path(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}
