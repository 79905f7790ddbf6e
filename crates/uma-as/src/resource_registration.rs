//! Resource registration (FedAuthz §3): a resource server describes its
//! resources and their scopes. Every operation is scoped to the calling
//! resource server: another server's resource answers 404, as if it did not exist.

use crate::id::ResourceId;
use crate::error::{ProtocolError, ProtocolResult};
use crate::model::{Resource, ResourceDescription};
use crate::pat::ProtectionCaller;
use crate::server::AuthorizationServer;
use serde_json::json;

const MAX_SCOPES: usize = 64;
const MAX_TEXT: usize = 1000;

fn validate(description: &ResourceDescription) -> ProtocolResult<()> {
    let scopes = &description.resource_scopes;
    if scopes.len() > MAX_SCOPES {
        return Err(ProtocolError::invalid_request(format!("at most {MAX_SCOPES} resource_scopes")));
    }
    for (i, scope) in scopes.iter().enumerate() {
        if scope.is_empty() || scope.len() > MAX_TEXT || scope.chars().any(char::is_whitespace) {
            return Err(ProtocolError::invalid_request(format!("resource scope {scope:?} is empty, too long or has spaces")));
        }
        if scopes[..i].contains(scope) {
            return Err(ProtocolError::invalid_request(format!("resource scope {scope:?} is repeated")));
        }
    }
    for (name, value) in [
        ("name", &description.name),
        ("description", &description.description),
        ("icon_uri", &description.icon_uri),
        ("type", &description.kind),
    ] {
        if value.as_ref().is_some_and(|v| v.len() > MAX_TEXT) {
            return Err(ProtocolError::invalid_request(format!("{name} is longer than {MAX_TEXT}")));
        }
    }
    Ok(())
}

impl AuthorizationServer {
    pub fn create_resource(&self, caller: &ProtectionCaller, description: ResourceDescription) -> ProtocolResult<Resource> {
        validate(&description)?;
        let resource = Resource {
            id: ResourceId::generate(),
            resource_server: caller.client_id.clone(),
            description,
            created_at: self.now(),
        };
        self.save_resource(&resource)?;
        self.audit(
            &format!("resource_server:{}", caller.client_id),
            "resource.registered",
            json!({ "resource_id": resource.id, "name": resource.description.name, "scopes": resource.description.resource_scopes }),
        );
        Ok(resource)
    }

    fn save_resource(&self, resource: &Resource) -> ProtocolResult<()> {
        self.trees().resources.insert(&resource.id, resource)?;
        self.cache().write().resources.insert(resource.id.clone(), resource.clone());
        Ok(())
    }

    /// The caller's resource, or 404.
    pub fn read_resource(&self, caller: &ProtectionCaller, id: &ResourceId) -> ProtocolResult<Resource> {
        match self.cache().read().resources.get(id) {
            Some(r) if r.resource_server == caller.client_id => Ok(r.clone()),
            _ => Err(ProtocolError::not_found("no such resource")),
        }
    }

    /// Full replacement of the description (FedAuthz §3.2.3).
    pub fn update_resource(&self, caller: &ProtectionCaller, id: &ResourceId, description: ResourceDescription) -> ProtocolResult<Resource> {
        validate(&description)?;
        let mut resource = self.read_resource(caller, id)?;
        resource.description = description;
        self.save_resource(&resource)?;
        self.audit(
            &format!("resource_server:{}", caller.client_id),
            "resource.updated",
            json!({ "resource_id": id, "scopes": resource.description.resource_scopes }),
        );
        Ok(resource)
    }

    /// Deletes the resource; its policies go with it and its grants are revoked.
    pub fn delete_resource(&self, caller: &ProtectionCaller, id: &ResourceId) -> ProtocolResult<()> {
        self.read_resource(caller, id)?;
        self.trees().resources.remove(id)?;
        self.cache().write().resources.remove(id);
        self.forget_resource(id)?;
        self.audit(&format!("resource_server:{}", caller.client_id), "resource.deleted", json!({ "resource_id": id }));
        Ok(())
    }

    /// The `_id`s of the caller's resources.
    pub fn list_resources(&self, caller: &ProtectionCaller) -> Vec<ResourceId> {
        let cache = self.cache().read();
        let mut ids: Vec<ResourceId> = cache
            .resources
            .values()
            .filter(|r| r.resource_server == caller.client_id)
            .map(|r| r.id.clone())
            .collect();
        ids.sort();
        ids
    }
}
