"""The public guide, under every language prefix (portal/urls.py wraps it in i18n_patterns)."""

from django.urls import path

from education import views

app_name = "education"

urlpatterns = [
    path("guide/", views.module_list, name="module-list"),
    path("guide/<slug:slug>/", views.module_detail, name="module-detail"),
    path("offline/", views.offline, name="offline"),
]

# Care-team pages, outside the language prefixes (portal/urls.py includes these).
review_urlpatterns = [
    path("", views.translation_list, name="translation-list"),
    path("<slug:slug>/<str:language>/", views.translation_review, name="translation-review"),
]
