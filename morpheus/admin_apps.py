from django.contrib.admin.apps import AdminConfig


class MorpheusAdminConfig(AdminConfig):
    """Replaces Django's default admin site with the platform admin site."""

    default_site = "morpheus.admin_site.MorpheusAdminSite"

    def ready(self):
        super().ready()
        from django.contrib import admin
        from django.contrib.auth.models import Group

        # Platform admins hold every permission by role; groups would only mislead.
        if admin.site.is_registered(Group):
            admin.site.unregister(Group)
