//! The mock API's customer accounts: two seeded ones, and those made by `POST /v1/accounts`,
//! in the shapes of Zuora's "Retrieve an account" and "Create an account".

use serde_json::{Map, Value, json};

use crate::ids;

/// Account numbers the mock knows from the start.
pub const SEEDED_ACCOUNTS: [&str; 2] = ["A00000001", "A00000002"];

#[derive(Clone, Debug)]
struct Account {
    id: String,
    number: String,
    /// `GET /v1/accounts/{key}`'s answer, without `success`.
    summary: Value,
}

/// Why a new account was refused: the field at fault and what is wrong with it.
#[derive(Debug)]
pub(crate) struct Invalid {
    pub(crate) missing: bool,
    pub(crate) message: String,
}

#[derive(Debug)]
pub(crate) struct Accounts {
    list: Vec<Account>,
}

impl Accounts {
    pub(crate) fn seeded() -> Self {
        let mut accounts = Self { list: Vec::new() };
        for (name, first, last) in [
            ("Acme Corporation", "Ada", "Lovelace"),
            ("Globex Inc.", "Grace", "Hopper"),
        ] {
            let mut body = Map::new();
            body.insert("name".into(), json!(name));
            body.insert(
                "billToContact".into(),
                json!({"firstName": first, "lastName": last, "country": "United States"}),
            );
            accounts.add(&body);
        }
        accounts
    }

    /// `GET /v1/accounts/{key}`: by account number or account ID.
    pub(crate) fn get(&self, key: &str) -> Option<Value> {
        let account = self.list.iter().find(|a| a.number == key || a.id == key)?;
        let mut v = account.summary.clone();
        v["success"] = json!(true);
        Some(v)
    }

    /// `POST /v1/accounts`: checks the body and adds the account; the answer is Zuora's.
    pub(crate) fn create(&mut self, body: &Value) -> Result<Value, Invalid> {
        let body = body.as_object().ok_or_else(|| Invalid {
            missing: false,
            message: "The request body must be a JSON object".into(),
        })?;
        match body.get("name") {
            None | Some(Value::Null) => {
                return Err(Invalid {
                    missing: true,
                    message: "'name' may not be null".into(),
                });
            }
            Some(Value::String(s)) if !s.trim().is_empty() && s.chars().count() <= 255 => {}
            Some(_) => {
                return Err(Invalid {
                    missing: false,
                    message: "'name' must be a non-empty string of at most 255 characters".into(),
                });
            }
        }
        if let Some(day) = body.get("billCycleDay")
            && !day.as_u64().is_some_and(|d| (1..=31).contains(&d))
        {
            return Err(Invalid {
                missing: false,
                message: "'billCycleDay' must be a number from 1 to 31".into(),
            });
        }
        let account = self.add(body);
        Ok(json!({
            "success": true,
            "accountId": account.id,
            "accountNumber": account.number,
            "billToContactId": ids::hex32(),
            "soldToContactId": ids::hex32(),
        }))
    }

    fn add(&mut self, body: &Map<String, Value>) -> &Account {
        let id = ids::hex32();
        let number = format!("A{:08}", self.list.len() + 1);
        let field = |name: &str, default: Value| body.get(name).cloned().unwrap_or(default);
        let currency = field("currency", json!("USD"));
        let contact = field("billToContact", Value::Null);
        let summary = json!({
            "basicInfo": {
                "id": id,
                "name": body["name"],
                "accountNumber": number,
                "status": "Active",
                "currency": currency,
                "batch": field("batch", json!("Batch1")),
                "notes": field("notes", Value::Null),
                "crmId": field("crmId", Value::Null),
            },
            "billingAndPayment": {
                "billCycleDay": field("billCycleDay", json!(1)),
                "currency": currency,
                "paymentTerm": field("paymentTerm", json!("Due Upon Receipt")),
                "autoPay": field("autoPay", json!(false)),
            },
            "metrics": {
                "balance": 0,
                "totalInvoiceBalance": 0,
                "creditBalance": 0,
                "contractedMrr": 0,
            },
            "billToContact": contact,
            "soldToContact": field("soldToContact", contact.clone()),
        });
        self.list.push(Account {
            id,
            number,
            summary,
        });
        self.list.last().expect("just pushed")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_created_and_refused_accounts() {
        let mut accounts = Accounts::seeded();
        let acme = accounts.get(SEEDED_ACCOUNTS[0]).unwrap();
        assert_eq!(acme["basicInfo"]["name"], "Acme Corporation");
        assert_eq!(acme["success"], true);
        let id = acme["basicInfo"]["id"].as_str().unwrap();
        assert_eq!(accounts.get(id).unwrap(), acme, "found by ID too");
        assert!(accounts.get(SEEDED_ACCOUNTS[1]).is_some());
        assert!(accounts.get("A00000003").is_none());

        let made = accounts
            .create(&json!({"name": "Initech", "currency": "EUR", "billCycleDay": 15}))
            .unwrap();
        assert_eq!(made["accountNumber"], "A00000003");
        let got = accounts.get("A00000003").unwrap();
        assert_eq!(got["basicInfo"]["id"], made["accountId"]);
        assert_eq!(got["billingAndPayment"]["currency"], "EUR");
        assert_eq!(got["billingAndPayment"]["billCycleDay"], 15);

        assert!(accounts.create(&json!({})).unwrap_err().missing);
        for bad in [
            json!({"name": ""}),
            json!({"name": 5}),
            json!(["name"]),
            json!({"name": "x", "billCycleDay": 32}),
        ] {
            assert!(!accounts.create(&bad).unwrap_err().missing, "{bad}");
        }
        assert!(accounts.get("A00000004").is_none());
    }
}
