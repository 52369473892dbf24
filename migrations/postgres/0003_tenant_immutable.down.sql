DROP FUNCTION servo_tenant_immutable() CASCADE;
