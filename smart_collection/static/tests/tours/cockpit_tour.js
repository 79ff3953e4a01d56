/** @odoo-module **/

import { registry } from "@web/core/registry";

// The cockpit opens, shows its figures, follows the period filter and links to a customer.
registry.category("web_tour.tours").add("smart_collection_cockpit", {
    steps: () => [
        {
            content: "The cockpit shows the DSO",
            trigger: ".o_collection_cockpit .o_cockpit_dso .fs-2",
        },
        {
            content: "The riskiest customer is listed",
            trigger: ".o_cockpit_risky a:contains('Cockpit Risk Co')",
        },
        {
            content: "Look at the last three months",
            trigger: ".o_collection_cockpit select.o_cockpit_period",
            run: "select last_3_months",
        },
        {
            content: "The figures are reloaded",
            trigger: ".o_collection_cockpit .o_cockpit_cei .fs-2",
        },
        {
            content: "Open the riskiest customer",
            trigger: ".o_cockpit_risky a:contains('Cockpit Risk Co')",
            run: "click",
        },
        {
            content: "The customer's form opens",
            trigger: ".o_form_view .o_field_widget[name='name'] input",
        },
    ],
});
