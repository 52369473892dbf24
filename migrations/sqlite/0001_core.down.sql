DROP TABLE executions;
DROP TABLE workflow_assets;
DROP TABLE workflows;
DROP TABLE asset_dependencies;
DROP TABLE assets;
DROP TABLE tenants;
