from django.urls import path

from . import views

urlpatterns = [
    path(
        "auth/register/request-verification",
        views.RegisterRequestVerificationView.as_view(),
        name="auth-request-verification",
    ),
    path("auth/register/complete", views.RegisterCompleteView.as_view(), name="auth-register-complete"),
    path("auth/login", views.LoginView.as_view(), name="auth-login"),
    path("auth/refresh", views.RefreshView.as_view(), name="auth-refresh"),
    path("auth/logout", views.LogoutView.as_view(), name="auth-logout"),
    path("auth/logout/all", views.LogoutAllView.as_view(), name="auth-logout-all"),
    path("auth/profile", views.ProfileView.as_view(), name="auth-profile"),
    path("auth/invite/accept", views.InviteAcceptView.as_view(), name="auth-invite-accept"),
    path("auth/password/forgot", views.PasswordForgotView.as_view(), name="auth-password-forgot"),
    path("auth/password/reset", views.PasswordResetView.as_view(), name="auth-password-reset"),
    path("auth/password/change", views.PasswordChangeView.as_view(), name="auth-password-change"),
]
