/** @odoo-module **/

import { registry } from "@web/core/registry";

// Opens the collector's screens as a user would and checks that each shows its records.
registry.category("web_tour.tours").add("smart_collection_collector_screens", {
    steps: () => [
        {
            content: "Search the customer",
            trigger: ".o_searchview_input",
            run: "edit Screen Test Co",
        },
        {
            content: "Apply the search",
            trigger: ".o_searchview_input",
            run: "press Enter",
        },
        {
            content: "Customers to follow lists the late customer",
            trigger: ".o_list_view .o_data_row:contains('Screen Test Co')",
        },
        {
            content: "Open the Today list from the Collection menu",
            trigger: ".o_main_navbar button:contains('Collection'), .o_main_navbar .dropdown-toggle:contains('Collection')",
            run: "click",
        },
        {
            content: "Choose Today",
            trigger: ".dropdown-item:contains('Today')",
            run: "click",
        },
        {
            content: "Search the customer in Today",
            trigger: ".o_searchview_input",
            run: "edit Screen Test Co",
        },
        {
            content: "Apply the search in Today",
            trigger: ".o_searchview_input",
            run: "press Enter",
        },
        {
            content: "Today shows the call to make",
            trigger: ".o_list_view .o_data_row:contains('Screen Test Co')",
        },
        {
            content: "Open the record behind the call",
            trigger: ".o_list_view .o_data_row:contains('Screen Test Co') button[name='action_open']",
            run: "click",
        },
        {
            content: "The customer form opens on its Collection tab",
            trigger: ".o_form_view .o_notebook a:contains('Collection')",
            run: "click",
        },
        {
            content: "The ledger of the customer is shown",
            trigger: ".o_form_view .o_field_widget[name='collection_dispatch_ids'] .o_data_row",
        },
    ],
});
