//! A library crate's public API as lines sorted by path, read from rustdoc's JSON output (nightly
//! `--output-format json`): every public item reachable from the crate root under each
//! public path it has, with its kind and signature; struct fields and enum variants;
//! inherent methods and associated items; trait items; and the traits each type
//! implements, auto traits included (blanket impls such as `impl<T> From<T> for T` are left
//! out: they follow from the rest). Items re-exported from another crate show as
//! `pub use PATH => SOURCE` (that crate's own listing has their details).
//!
//! Types are named by their public path where the workspace's listings know it (so that
//! moving an item between private modules changes nothing), else by the path rustdoc
//! records (std's and other crates' items: `core::option::Option`, `http::request::Request`).
//!
//! Parameter names, docs, and attributes other than `#[non_exhaustive]` are not part of the
//! listing: changing them does not change what compiles against the crate.

use serde_json::{Map, Value};
use std::collections::{BTreeSet, HashMap, HashSet};

/// Where items are defined (rustdoc's path, private modules included) → the public path
/// they are reachable at.
pub type PublicPaths = HashMap<String, String>;

/// The rustdoc JSON format versions this reader was written against.
pub const FORMAT_VERSIONS: std::ops::RangeInclusive<u64> = 50..=60;

/// The auto traits listed when a type implements them (or not). The toolchain's unstable
/// ones (`Freeze`, `UnsafeUnpin`) are left out: they are not API and vary by nightly.
const AUTO_TRAITS: [&str; 5] = ["Send", "Sync", "Unpin", "UnwindSafe", "RefUnwindSafe"];

/// The public path of each item the crate whose rustdoc JSON is `doc` defines, by the path
/// it is defined at.
pub fn public_paths(doc: &Value) -> Result<PublicPaths, String> {
    let none = PublicPaths::new();
    let walker = walk(doc, HashMap::new(), &none)?;
    Ok(walker
        .found
        .iter()
        .filter_map(|(id, public)| Some((walker.defined_at(id)?, public.clone())))
        .collect())
}

/// The listing of the crate whose rustdoc JSON is `doc`, one line per item, sorted; other
/// crates' items are named by their public path in `workspace` where they are in it.
pub fn listing(doc: &Value, workspace: &PublicPaths) -> Result<Vec<String>, String> {
    let first = walk(doc, HashMap::new(), workspace)?;
    let walker = walk(doc, first.found, workspace)?;
    let sorted: BTreeSet<(String, String)> = walker
        .lines
        .into_iter()
        .map(|(line, key)| (key, line))
        .collect();
    Ok(sorted.into_iter().map(|(_, line)| line).collect())
}

/// Walks the crate from its root, naming local items by `public` (id → public path).
fn walk<'a>(
    doc: &'a Value,
    public: HashMap<String, String>,
    workspace: &'a PublicPaths,
) -> Result<Walker<'a>, String> {
    let version = doc["format_version"].as_u64().unwrap_or(0);
    if !FORMAT_VERSIONS.contains(&version) {
        return Err(format!(
            "rustdoc JSON format version {version} is not one this reader knows \
             ({FORMAT_VERSIONS:?}): check the listing and widen FORMAT_VERSIONS"
        ));
    }
    let index = doc["index"]
        .as_object()
        .ok_or("rustdoc JSON without an index")?;
    let paths = doc["paths"]
        .as_object()
        .ok_or("rustdoc JSON without paths")?;
    let root = &doc["root"];
    let name = index
        .get(&key(root))
        .and_then(|item| item["name"].as_str())
        .ok_or("rustdoc JSON without its root module")?;
    let mut walker = Walker {
        index,
        paths,
        public,
        workspace,
        found: HashMap::new(),
        lines: HashMap::new(),
        seen: HashSet::new(),
    };
    walker.item(root, name);
    Ok(walker)
}

fn key(id: &Value) -> String {
    match id {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

struct Walker<'a> {
    index: &'a Map<String, Value>,
    paths: &'a Map<String, Value>,
    /// This crate's items: id → the public path they are named by.
    public: HashMap<String, String>,
    /// Other workspace crates' items: defined at → public path.
    workspace: &'a PublicPaths,
    /// The public paths found by this walk: id → the shortest.
    found: HashMap<String, String>,
    /// Each line, with the path it is sorted by: an item's lines, then its members', then
    /// the traits it implements (key `{path}::~`, after every member name).
    lines: HashMap<String, String>,
    /// (item id, path) pairs already listed: an item re-exported in a cycle stops here.
    seen: HashSet<(String, String)>,
}

impl Walker<'_> {
    fn get(&self, id: &Value) -> Option<&Value> {
        self.index.get(&key(id))
    }

    /// Adds a line, to be sorted by `key` (the path it is about) and then by itself.
    fn emit(&mut self, key: &str, line: String) {
        let key = self
            .lines
            .remove(&line)
            .map_or(key.to_owned(), |k| k.min(key.to_owned()));
        self.lines.insert(line, key);
    }

    /// The path rustdoc records for the item `id` (where it is defined).
    fn defined_at(&self, id: &str) -> Option<String> {
        let segments = self.paths.get(id)?["path"].as_array()?;
        Some(
            segments
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join("::"),
        )
    }

    /// Lists the item `id`, reachable at `path`.
    fn item(&mut self, id: &Value, path: &str) {
        if !self.seen.insert((key(id), path.to_owned())) {
            return;
        }
        let shorter = |known: &String| (path.len(), path) < (known.len(), known.as_str());
        if self.found.get(&key(id)).is_none_or(shorter) {
            self.found.insert(key(id), path.to_owned());
        }
        let Some(item) = self.get(id).cloned() else {
            return;
        };
        let Some((kind, inner)) = item["inner"].as_object().and_then(|m| m.iter().next()) else {
            return;
        };
        let non_exhaustive = item["attrs"]
            .as_array()
            .is_some_and(|attrs| attrs.iter().any(|a| a == "non_exhaustive"));
        let attr = if non_exhaustive {
            "#[non_exhaustive] "
        } else {
            ""
        };
        match kind.as_str() {
            "module" => {
                self.emit(path, format!("pub mod {path}"));
                for child in inner["items"].as_array().into_iter().flatten() {
                    self.child(child, path);
                }
            }
            "struct" | "union" => {
                let generics = self.generics(&inner["generics"]);
                let wher = self.where_clause(&inner["generics"]);
                let shape = match &inner["kind"] {
                    Value::String(unit) if unit == "unit" => ";".to_owned(),
                    Value::Object(k) if k.contains_key("tuple") => {
                        let fields: Vec<String> = k["tuple"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .map(|f| match self.get(f) {
                                Some(field) if field["visibility"] == "public" => {
                                    format!("pub {}", self.ty(&field["inner"]["struct_field"]))
                                }
                                _ => "_".to_owned(),
                            })
                            .collect();
                        format!("({})", fields.join(", "))
                    }
                    _ => String::new(),
                };
                self.emit(
                    path,
                    format!("{attr}pub {kind} {path}{generics}{shape}{wher}"),
                );
                let fields = inner["kind"]["plain"]["fields"]
                    .as_array()
                    .or_else(|| inner["fields"].as_array());
                self.fields(fields, path);
                self.impls(&inner["impls"], path);
            }
            "enum" => {
                let generics = self.generics(&inner["generics"]);
                let wher = self.where_clause(&inner["generics"]);
                self.emit(path, format!("{attr}pub enum {path}{generics}{wher}"));
                for variant in inner["variants"].as_array().into_iter().flatten() {
                    self.variant(variant, path);
                }
                self.impls(&inner["impls"], path);
            }
            "function" => {
                let sig = self.function(inner, path);
                self.emit(path, format!("pub {sig}"));
            }
            "constant" => {
                let ty = self.ty(&inner["type"]);
                self.emit(path, format!("pub const {path}: {ty}"));
            }
            "static" => {
                let ty = self.ty(&inner["type"]);
                let mutable = if inner["is_mutable"] == true {
                    "mut "
                } else {
                    ""
                };
                self.emit(path, format!("pub static {mutable}{path}: {ty}"));
            }
            "type_alias" => {
                let generics = self.generics(&inner["generics"]);
                let ty = self.ty(&inner["type"]);
                self.emit(path, format!("pub type {path}{generics} = {ty}"));
            }
            "trait" => {
                let unsafety = if inner["is_unsafe"] == true {
                    "unsafe "
                } else {
                    ""
                };
                let generics = self.generics(&inner["generics"]);
                let bounds = self.bounds(&inner["bounds"]);
                let bounds = if bounds.is_empty() {
                    bounds
                } else {
                    format!(": {bounds}")
                };
                let wher = self.where_clause(&inner["generics"]);
                self.emit(
                    path,
                    format!("pub {unsafety}trait {path}{generics}{bounds}{wher}"),
                );
                for member in inner["items"].as_array().into_iter().flatten() {
                    self.assoc(member, path, true);
                }
            }
            "macro" => self.emit(path, format!("pub macro {path}!")),
            "proc_macro" => self.emit(path, format!("pub proc_macro {path}!")),
            "trait_alias" => self.emit(path, format!("pub trait {path} = …")),
            _ => {}
        }
    }

    /// One entry of a module: an item of its own, or a `use`.
    fn child(&mut self, id: &Value, parent: &str) {
        let Some(child) = self.get(id).cloned() else {
            return;
        };
        if child["visibility"] != "public" {
            return;
        }
        if let Some(import) = child["inner"].get("use") {
            let target = &import["id"];
            let local = !target.is_null() && self.get(target).is_some();
            if import["is_glob"] == true {
                match self.get(target).cloned() {
                    Some(module) if module["inner"].get("module").is_some() => {
                        let items = module["inner"]["module"]["items"].clone();
                        for item in items.as_array().into_iter().flatten() {
                            self.child(item, parent);
                        }
                    }
                    _ => {
                        let source = import["source"].as_str().unwrap_or("?");
                        self.emit(parent, format!("pub use {parent}::* => {source}::*"));
                    }
                }
            } else {
                let name = import["name"].as_str().unwrap_or("?");
                let path = format!("{parent}::{name}");
                if local {
                    self.item(target, &path);
                } else {
                    let source = import["source"].as_str().unwrap_or("?");
                    self.emit(&path, format!("pub use {path} => {source}"));
                }
            }
            return;
        }
        let Some(name) = child["name"].as_str() else {
            return;
        };
        self.item(id, &format!("{parent}::{name}"));
    }

    fn fields(&mut self, fields: Option<&Vec<Value>>, path: &str) {
        for field in fields.into_iter().flatten() {
            let Some(field) = self.get(field).cloned() else {
                continue;
            };
            if field["visibility"] != "public" {
                continue;
            }
            let name = field["name"].as_str().unwrap_or("?");
            let ty = self.ty(&field["inner"]["struct_field"]);
            self.emit(
                &format!("{path}::{name}"),
                format!("pub {path}::{name}: {ty}"),
            );
        }
    }

    fn variant(&mut self, id: &Value, enum_path: &str) {
        let Some(variant) = self.get(id).cloned() else {
            return;
        };
        let name = variant["name"].as_str().unwrap_or("?");
        let path = format!("{enum_path}::{name}");
        let kind = &variant["inner"]["variant"]["kind"];
        let discriminant = variant["inner"]["variant"]["discriminant"]["expr"]
            .as_str()
            .map(|d| format!(" = {d}"))
            .unwrap_or_default();
        if let Some(tuple) = kind.get("tuple") {
            let fields: Vec<String> = tuple
                .as_array()
                .into_iter()
                .flatten()
                .map(|f| match self.get(f) {
                    Some(field) => self.ty(&field["inner"]["struct_field"]),
                    None => "_".to_owned(),
                })
                .collect();
            self.emit(&path, format!("pub {path}({})", fields.join(", ")));
        } else if let Some(fields) = kind.get("struct") {
            self.emit(&path, format!("pub {path} {{ .. }}"));
            let fields = fields["fields"].as_array().cloned();
            // Fields of a variant are as public as the enum.
            for field in fields.iter().flatten() {
                if let Some(field) = self.get(field).cloned() {
                    let name = field["name"].as_str().unwrap_or("?");
                    let ty = self.ty(&field["inner"]["struct_field"]);
                    self.emit(
                        &format!("{path}::{name}"),
                        format!("pub {path}::{name}: {ty}"),
                    );
                }
            }
        } else {
            self.emit(&path, format!("pub {path}{discriminant}"));
        }
    }

    /// The impls of a type: inherent items, and one line per implemented trait.
    fn impls(&mut self, impls: &Value, path: &str) {
        for id in impls.as_array().into_iter().flatten() {
            let Some(imp) = self.get(id).map(|i| i["inner"]["impl"].clone()) else {
                continue;
            };
            if !imp["blanket_impl"].is_null() {
                continue;
            }
            let trait_ = &imp["trait"];
            if trait_.is_null() {
                for member in imp["items"].as_array().into_iter().flatten() {
                    self.assoc(member, path, false);
                }
                continue;
            }
            let trait_name = self.path(trait_);
            if imp["is_synthetic"] == true
                && !AUTO_TRAITS
                    .iter()
                    .any(|t| trait_name.rsplit("::").next() == Some(t))
            {
                continue;
            }
            let generics = self.params(&imp["generics"], false);
            let wher = self.where_clause(&imp["generics"]);
            let negative = if imp["is_negative"] == true { "!" } else { "" };
            let unsafety = if imp["is_unsafe"] == true {
                "unsafe "
            } else {
                ""
            };
            let for_ = self.ty(&imp["for"]);
            self.emit(
                &format!("{path}::~"),
                format!("{unsafety}impl{generics} {negative}{trait_name} for {for_}{wher}"),
            );
        }
    }

    /// An associated item of a type (`in_trait`: false; public ones only) or a trait.
    fn assoc(&mut self, id: &Value, owner: &str, in_trait: bool) {
        let Some(member) = self.get(id).cloned() else {
            return;
        };
        if !in_trait && member["visibility"] != "public" {
            return;
        }
        let name = member["name"].as_str().unwrap_or("?");
        let path = format!("{owner}::{name}");
        let Some((kind, inner)) = member["inner"].as_object().and_then(|m| m.iter().next()) else {
            return;
        };
        let line = match kind.as_str() {
            "function" => {
                let provided = if in_trait && inner["has_body"] == true {
                    " (provided)"
                } else {
                    ""
                };
                format!("pub {}{provided}", self.function(inner, &path))
            }
            "assoc_const" => format!("pub const {path}: {}", self.ty(&inner["type"])),
            "assoc_type" => {
                let bounds = self.bounds(&inner["bounds"]);
                let bounds = if bounds.is_empty() {
                    bounds
                } else {
                    format!(": {bounds}")
                };
                let value = if inner["type"].is_null() {
                    String::new()
                } else {
                    format!(" = {}", self.ty(&inner["type"]))
                };
                format!("pub type {path}{bounds}{value}")
            }
            _ => return,
        };
        self.emit(&path, line);
    }

    fn function(&self, inner: &Value, path: &str) -> String {
        let header = &inner["header"];
        let mut qualifiers = String::new();
        for (flag, word) in [
            ("is_const", "const "),
            ("is_async", "async "),
            ("is_unsafe", "unsafe "),
        ] {
            if header[flag] == true {
                qualifiers.push_str(word);
            }
        }
        let generics = self.generics(&inner["generics"]);
        let inputs: Vec<String> = inner["sig"]["inputs"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|pair| {
                let name = pair[0].as_str().unwrap_or("_");
                let ty = &pair[1];
                if name == "self" {
                    self.receiver(ty)
                } else {
                    self.ty(ty)
                }
            })
            .collect();
        let output = match &inner["sig"]["output"] {
            Value::Null => String::new(),
            ty => format!(" -> {}", self.ty(ty)),
        };
        let wher = self.where_clause(&inner["generics"]);
        format!(
            "{qualifiers}fn {path}{generics}({}){output}{wher}",
            inputs.join(", ")
        )
    }

    fn receiver(&self, ty: &Value) -> String {
        if ty["generic"] == "Self" {
            return "self".to_owned();
        }
        if let Some(r) = ty.get("borrowed_ref")
            && r["type"]["generic"] == "Self"
        {
            let lifetime = r["lifetime"]
                .as_str()
                .map(|l| format!("{l} "))
                .unwrap_or_default();
            let mutable = if r["is_mutable"] == true { "mut " } else { "" };
            return format!("&{lifetime}{mutable}self");
        }
        format!("self: {}", self.ty(ty))
    }

    /// A path to a type or trait: its full path where rustdoc knows it, with its arguments.
    fn path(&self, p: &Value) -> String {
        let written = p["path"]
            .as_str()
            .or_else(|| p["name"].as_str())
            .unwrap_or("?");
        let id = key(&p["id"]);
        let full = match self.public.get(&id) {
            Some(public) => public.clone(),
            None => match self.defined_at(&id) {
                Some(defined) => self.workspace.get(&defined).cloned().unwrap_or(defined),
                None => written.to_owned(),
            },
        };
        format!("{full}{}", self.generic_args(&p["args"]))
    }

    fn generic_args(&self, args: &Value) -> String {
        if let Some(angle) = args.get("angle_bracketed") {
            let mut parts: Vec<String> = angle["args"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|a| self.generic_arg(a))
                .collect();
            for c in angle["constraints"].as_array().into_iter().flatten() {
                let name = c["name"].as_str().unwrap_or("?");
                let args = self.generic_args(&c["args"]);
                let binding = &c["binding"];
                if let Some(eq) = binding.get("equality") {
                    parts.push(format!("{name}{args} = {}", self.term(eq)));
                } else if let Some(bounds) = binding.get("constraint") {
                    parts.push(format!("{name}{args}: {}", self.bounds(bounds)));
                }
            }
            if parts.is_empty() {
                String::new()
            } else {
                format!("<{}>", parts.join(", "))
            }
        } else if let Some(paren) = args.get("parenthesized") {
            let inputs: Vec<String> = paren["inputs"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|t| self.ty(t))
                .collect();
            let output = match &paren["output"] {
                Value::Null => String::new(),
                ty => format!(" -> {}", self.ty(ty)),
            };
            format!("({}){output}", inputs.join(", "))
        } else {
            String::new()
        }
    }

    fn generic_arg(&self, arg: &Value) -> String {
        if let Some(l) = arg.get("lifetime").and_then(Value::as_str) {
            l.to_owned()
        } else if let Some(t) = arg.get("type") {
            self.ty(t)
        } else if let Some(c) = arg.get("const") {
            c["expr"].as_str().unwrap_or("_").to_owned()
        } else {
            "_".to_owned()
        }
    }

    fn term(&self, term: &Value) -> String {
        if let Some(t) = term.get("type") {
            self.ty(t)
        } else {
            term["constant"]["expr"].as_str().unwrap_or("_").to_owned()
        }
    }

    fn bounds(&self, bounds: &Value) -> String {
        let parts: Vec<String> = bounds
            .as_array()
            .into_iter()
            .flatten()
            .map(|b| self.bound(b))
            .collect();
        parts.join(" + ")
    }

    fn bound(&self, bound: &Value) -> String {
        if let Some(t) = bound.get("trait_bound") {
            let modifier = match t["modifier"].as_str() {
                Some("maybe") => "?",
                Some("maybe_const") => "~const ",
                _ => "",
            };
            format!(
                "{}{modifier}{}",
                self.higher_ranked(&t["generic_params"]),
                self.path(&t["trait"])
            )
        } else if let Some(l) = bound.get("outlives").and_then(Value::as_str) {
            l.to_owned()
        } else if let Some(captured) = bound.get("use").and_then(Value::as_array) {
            let names: Vec<String> = captured
                .iter()
                .map(|c| {
                    c.as_str()
                        .or_else(|| c["lifetime"].as_str())
                        .or_else(|| c["param"].as_str())
                        .unwrap_or("?")
                        .to_owned()
                })
                .collect();
            format!("use<{}>", names.join(", "))
        } else {
            "?".to_owned()
        }
    }

    fn higher_ranked(&self, params: &Value) -> String {
        let names: Vec<&str> = params
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["name"].as_str())
            .collect();
        if names.is_empty() {
            String::new()
        } else {
            format!("for<{}> ", names.join(", "))
        }
    }

    /// `<'a, T: Bound = Default, const N: usize>`, without the parameters of `impl Trait`
    /// arguments.
    fn generics(&self, generics: &Value) -> String {
        self.params(generics, true)
    }

    /// The generic parameters, with their defaults or (for impls) without.
    fn params(&self, generics: &Value, defaults: bool) -> String {
        let params: Vec<String> = generics["params"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| {
                let name = p["name"].as_str().unwrap_or("?");
                let kind = &p["kind"];
                if let Some(l) = kind.get("lifetime") {
                    let outlives: Vec<&str> = l["outlives"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .collect();
                    Some(if outlives.is_empty() {
                        name.to_owned()
                    } else {
                        format!("{name}: {}", outlives.join(" + "))
                    })
                } else if let Some(t) = kind.get("type") {
                    if t["is_synthetic"] == true {
                        return None;
                    }
                    let bounds = self.bounds(&t["bounds"]);
                    let mut out = name.to_owned();
                    if !bounds.is_empty() {
                        out = format!("{out}: {bounds}");
                    }
                    if defaults && !t["default"].is_null() {
                        out = format!("{out} = {}", self.ty(&t["default"]));
                    }
                    Some(out)
                } else if let Some(c) = kind.get("const") {
                    Some(format!("const {name}: {}", self.ty(&c["type"])))
                } else {
                    Some(name.to_owned())
                }
            })
            .collect();
        if params.is_empty() {
            String::new()
        } else {
            format!("<{}>", params.join(", "))
        }
    }

    fn where_clause(&self, generics: &Value) -> String {
        let predicates: Vec<String> = generics["where_predicates"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| {
                if let Some(b) = p.get("bound_predicate") {
                    format!(
                        "{}{}: {}",
                        self.higher_ranked(&b["generic_params"]),
                        self.ty(&b["type"]),
                        self.bounds(&b["bounds"])
                    )
                } else if let Some(l) = p.get("lifetime_predicate") {
                    let outlives: Vec<&str> = l["outlives"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .collect();
                    format!(
                        "{}: {}",
                        l["lifetime"].as_str().unwrap_or("?"),
                        outlives.join(" + ")
                    )
                } else if let Some(e) = p.get("eq_predicate") {
                    format!("{} = {}", self.ty(&e["lhs"]), self.term(&e["rhs"]))
                } else {
                    "?".to_owned()
                }
            })
            .collect();
        if predicates.is_empty() {
            String::new()
        } else {
            format!(" where {}", predicates.join(", "))
        }
    }

    fn ty(&self, ty: &Value) -> String {
        let Some((kind, inner)) = ty.as_object().and_then(|m| m.iter().next()) else {
            return "_".to_owned();
        };
        match kind.as_str() {
            "resolved_path" => self.path(inner),
            "dyn_trait" => {
                let mut parts: Vec<String> = inner["traits"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|t| {
                        format!(
                            "{}{}",
                            self.higher_ranked(&t["generic_params"]),
                            self.path(&t["trait"])
                        )
                    })
                    .collect();
                if let Some(l) = inner["lifetime"].as_str() {
                    parts.push(l.to_owned());
                }
                format!("dyn {}", parts.join(" + "))
            }
            "generic" | "primitive" => inner.as_str().unwrap_or("?").to_owned(),
            "function_pointer" => {
                let inputs: Vec<String> = inner["sig"]["inputs"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|pair| self.ty(&pair[1]))
                    .collect();
                let output = match &inner["sig"]["output"] {
                    Value::Null => String::new(),
                    ty => format!(" -> {}", self.ty(ty)),
                };
                let unsafety = if inner["header"]["is_unsafe"] == true {
                    "unsafe "
                } else {
                    ""
                };
                format!(
                    "{}{unsafety}fn({}){output}",
                    self.higher_ranked(&inner["generic_params"]),
                    inputs.join(", ")
                )
            }
            "tuple" => {
                let items: Vec<String> = inner
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|t| self.ty(t))
                    .collect();
                if items.len() == 1 {
                    format!("({},)", items[0])
                } else {
                    format!("({})", items.join(", "))
                }
            }
            "slice" => format!("[{}]", self.ty(inner)),
            "array" => format!(
                "[{}; {}]",
                self.ty(&inner["type"]),
                inner["len"].as_str().unwrap_or("_")
            ),
            "pat" => self.ty(&inner["type"]),
            "impl_trait" => format!("impl {}", self.bounds(inner)),
            "infer" => "_".to_owned(),
            "raw_pointer" => {
                let mutability = if inner["is_mutable"] == true {
                    "mut"
                } else {
                    "const"
                };
                format!("*{mutability} {}", self.ty(&inner["type"]))
            }
            "borrowed_ref" => {
                let lifetime = inner["lifetime"]
                    .as_str()
                    .map(|l| format!("{l} "))
                    .unwrap_or_default();
                let mutable = if inner["is_mutable"] == true {
                    "mut "
                } else {
                    ""
                };
                format!("&{lifetime}{mutable}{}", self.ty(&inner["type"]))
            }
            "qualified_path" => {
                let self_type = self.ty(&inner["self_type"]);
                let name = inner["name"].as_str().unwrap_or("?");
                let args = self.generic_args(&inner["args"]);
                match &inner["trait"] {
                    Value::Null => format!("{self_type}::{name}{args}"),
                    t => format!("<{self_type} as {}>::{name}{args}", self.path(t)),
                }
            }
            _ => "?".to_owned(),
        }
    }
}
